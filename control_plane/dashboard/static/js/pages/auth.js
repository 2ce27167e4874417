// Log in, sign up, forgot password, and reset from the emailed link.
import { post } from "../api.js";
import { h } from "../dom.js";
import { takeFlash } from "../flash.js";
import { alertRegion, field, onSubmit } from "../forms.js";
import { navigate, takeReturnTo } from "../router.js";
import * as session from "../session.js";
import { notice } from "../widgets.js";

function card(title, ...children) {
  const flashed = takeFlash();
  return h("section", { class: "auth-card" },
    h("p", { class: "brand" }, "Clew"),
    h("h1", { tabindex: "-1" }, title),
    flashed ? notice(flashed.message, flashed.kind) : null,
    children);
}

async function logIn(email, password) {
  session.save(await post("/v1/auth/login", { email, password }));
  navigate(takeReturnTo(), { replace: true });
}

function emailField() {
  return field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true });
}

export const login = {
  title: "Log in",
  access: "guest",
  async render(view) {
    const error = alertRegion();
    const form = h("form", { class: "stack" }, emailField(),
      field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true }),
      error, h("button", { type: "submit", class: "primary" }, "Log in"));
    onSubmit(form, error, ({ email, password }) => logIn(email, password));
    view.append(card("Log in", form, h("p", { class: "links" },
      h("a", { href: "/app/forgot" }, "Forgot your password?"), " · ",
      h("a", { href: "/app/signup" }, "Create an account"))));
  },
};

export const signup = {
  title: "Create an account",
  access: "guest",
  async render(view) {
    const error = alertRegion();
    const form = h("form", { class: "stack" }, emailField(),
      field({ label: "Password", name: "password", type: "password", autocomplete: "new-password", required: true,
              minlength: 8, hint: "At least 8 characters." }),
      error, h("button", { type: "submit", class: "primary" }, "Create account"));
    onSubmit(form, error, async ({ email, password }) => {
      await post("/v1/auth/signup", { email, password });
      await logIn(email, password);
    });
    view.append(card("Create an account", form, h("p", { class: "links" },
      "Already have an account? ", h("a", { href: "/app/login" }, "Log in"))));
  },
};

export const forgot = {
  title: "Forgot password",
  access: "public",
  async render(view) {
    const error = alertRegion();
    const form = h("form", { class: "stack" }, emailField(), error,
      h("button", { type: "submit", class: "primary" }, "Email me a reset link"));
    onSubmit(form, error, async ({ email }) => {
      const answer = await post("/v1/auth/forgot", { email });
      form.replaceWith(notice(answer.message, "success"));
    });
    view.append(card("Forgot your password?",
      h("p", {}, "We will email you a link to choose a new password."), form,
      h("p", { class: "links" }, h("a", { href: "/app/login" }, "Back to log in"))));
  },
};

// The reset token arrives in the link's query string; it is taken out of the address bar (and so
// out of the history) at once, and kept in memory only.
let resetToken = null;

function takeTokenFromUrl() {
  const url = new URL(location.href);
  if (url.searchParams.has("token")) {
    resetToken = url.searchParams.get("token");
    history.replaceState(null, "", "/app/reset");
  }
}

export const reset = {
  title: "Choose a new password",
  access: "public",
  async render(view) {
    takeTokenFromUrl();
    if (!resetToken) {
      view.append(card("Choose a new password", notice("This page needs the link from your password-reset email.", "error"),
        h("p", { class: "links" }, h("a", { href: "/app/forgot" }, "Ask for a new link"))));
      return;
    }
    const error = alertRegion();
    const form = h("form", { class: "stack" },
      field({ label: "New password", name: "password", type: "password", autocomplete: "new-password",
              required: true, minlength: 8, hint: "At least 8 characters." }),
      error, h("button", { type: "submit", class: "primary" }, "Set new password"));
    onSubmit(form, error, async ({ password }) => {
      const answer = await post("/v1/auth/reset", { token: resetToken, password });
      resetToken = null;
      session.clear();  // every earlier session ended with the reset
      form.replaceWith(notice(answer.message, "success"), h("p", { class: "links" },
        h("a", { href: "/app/login" }, "Log in with your new password")));
    });
    view.append(card("Choose a new password", form));
  },
};
