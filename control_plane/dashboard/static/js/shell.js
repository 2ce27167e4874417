// The frame around account pages: the brand, the navigation (a menu button on narrow screens),
// who is signed in, and Log out.
import { get } from "./api.js";
import { fill, h } from "./dom.js";
import { flash } from "./flash.js";
import { navigate } from "./router.js";
import * as session from "./session.js";

const LINKS = [
  ["/app/", "Overview"], ["/app/usage", "Usage"], ["/app/activity", "Activity"], ["/app/keys", "API keys"],
  ["/app/billing", "Billing"], ["/app/provider-keys", "Provider keys"], ["/app/webhooks", "Webhooks"],
];
let parts = null;
let shownEmail = null;

function build() {
  const nav = h("nav", { id: "site-nav", "aria-label": "Dashboard" },
    h("ul", {}, LINKS.map(([href, label]) => h("li", {}, h("a", { href }, label)))));
  const menu = h("button", { type: "button", class: "menu-toggle", "aria-expanded": "false",
                             "aria-controls": "site-nav" }, "Menu");
  const who = h("span", { class: "who" });
  const logout = h("button", { type: "button", class: "link", id: "logout" }, "Log out");
  const header = h("header", { class: "topbar" },
    h("a", { class: "brand", href: "/app/" }, "Clew"), menu, nav, h("div", { class: "account" }, who, logout));
  menu.addEventListener("click", () => {
    menu.setAttribute("aria-expanded", String(menu.getAttribute("aria-expanded") !== "true"));
  });
  logout.addEventListener("click", () => {
    session.clear();
    shownEmail = null;
    flash("You have logged out.");
    navigate("/app/login");
  });
  document.body.prepend(header);
  return { header, nav, menu, who };
}

async function showWho(who) {
  if (shownEmail) return;
  try {
    shownEmail = (await get("/v1/auth/me")).email;
    who.textContent = shownEmail;
  } catch {
    // The page itself shows what went wrong.
  }
}

export function showShell(visible) {
  parts ??= build();
  parts.header.hidden = !visible;
  if (!visible) {
    shownEmail = null;
    fill(parts.who);
    return;
  }
  parts.menu.setAttribute("aria-expanded", "false");
  for (const link of parts.nav.querySelectorAll("a")) {
    if (link.getAttribute("href") === location.pathname) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  showWho(parts.who);
}
