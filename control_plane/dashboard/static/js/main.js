// The dashboard's entry point: restore the session, draw the page the URL names.
import { whenSessionEnds } from "./api.js";
import { flash } from "./flash.js";
import { afterRender, fallback, navigate, route, start } from "./router.js";
import * as session from "./session.js";
import { showShell } from "./shell.js";
import * as activity from "./pages/activity.js";
import * as auth from "./pages/auth.js";
import * as billing from "./pages/billing.js";
import * as keys from "./pages/keys.js";
import * as notFound from "./pages/not_found.js";
import * as overview from "./pages/overview.js";
import * as providerKeys from "./pages/provider_keys.js";
import * as usage from "./pages/usage.js";
import * as webhooks from "./pages/webhooks.js";

route("/app/login", auth.login);
route("/app/signup", auth.signup);
route("/app/forgot", auth.forgot);
route("/app/reset", auth.reset);
route("/app/", overview.page);
route("/app/usage", usage.page);
route("/app/activity", activity.page);
route("/app/keys", keys.page);
route("/app/billing", billing.page);
route("/app/provider-keys", providerKeys.page);
route("/app/webhooks", webhooks.page);
fallback(notFound.page);

const main = document.getElementById("main");

afterRender((page, view, first) => {
  showShell(page.access === "account" && session.signedIn());
  main.replaceChildren(view);
  main.setAttribute("aria-busy", "false");
  if (!first) (view.querySelector("h1") ?? main).focus();
});

whenSessionEnds(() => {
  flash("Your session has ended; log in again.", "error");
  navigate("/app/login", { replace: true });
});

session.restore();
start();
