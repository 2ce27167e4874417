// Forms: labelled fields, one alert region for the API's error message, and a busy state while a
// request is on its way. Validation is the API's: its message is what the person reads.
import { ApiError } from "./api.js";
import { h, uid } from "./dom.js";

export function field({ label, name, type = "text", hint = "", options = [], ...attributes }) {
  const id = uid(name);
  const hintId = hint ? `${id}-hint` : null;
  const control = type === "select"
    ? h("select", { id, name, "aria-describedby": hintId, ...attributes },
      options.map(([value, text]) => h("option", { value }, text)))
    : h("input", { id, name, type, "aria-describedby": hintId, ...attributes });
  return h("div", { class: "field" },
    h("label", { for: id }, label),
    control,
    hint ? h("p", { class: "hint", id: hintId }, hint) : null);
}

export function alertRegion() {
  return h("p", { class: "alert error", role: "alert", hidden: true });
}

export function showError(region, error) {
  region.textContent = error instanceof ApiError ? error.message : "Something went wrong; try again.";
  region.hidden = false;
}

export function clearError(region) {
  region.textContent = "";
  region.hidden = true;
}

function markInvalid(form, param) {
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const target = param ? form.elements.namedItem(param) : null;
  if (target instanceof HTMLElement) {
    target.setAttribute("aria-invalid", "true");
    target.focus();
  }
}

// Calls `action(values)` on submit; its error (an ApiError) is shown in the form's alert region.
export function onSubmit(form, region, action) {
  form.noValidate = true;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    clearError(region);
    form.setAttribute("aria-busy", "true");
    if (button) button.disabled = true;
    try {
      await action(Object.fromEntries(new FormData(form)), form);
      markInvalid(form, null);
    } catch (error) {
      showError(region, error);
      markInvalid(form, error instanceof ApiError ? error.param : null);
      if (!(error instanceof ApiError)) console.error(error);
    } finally {
      form.removeAttribute("aria-busy");
      if (button) button.disabled = false;
    }
  });
  return form;
}
