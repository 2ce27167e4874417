// A key's own limits on the keys page: how they read in the list, and the form that changes them
// (PATCH /v1/keys/:id with only the fields that changed). The API checks every value; its message
// is what the person reads, next to the field it names.
import { patch } from "./api.js";
import { h } from "./dom.js";
import * as fmt from "./format.js";
import { alertRegion, field, onSubmit } from "./forms.js";

export const SCOPES = [
  ["default", "Default: AI requests and reading usage"],
  ["management", "Management: also keys, webhooks, billing and provider keys"],
];

export function limitsSummary(key) {
  const parts = [
    key.allowed_models && `Models: ${key.allowed_models.join(", ")}`,
    key.monthly_budget_usd !== null && `Budget: ${fmt.usd(key.monthly_budget_usd, { maximumFractionDigits: 9 })}/month`,
    key.requests_per_minute !== null && `${fmt.count(key.requests_per_minute)} requests/min`,
    key.expires_at && `Expires ${fmt.when(key.expires_at)}`,
  ].filter(Boolean);
  return parts.length ? h("ul", { class: "key-limits" }, parts.map((part) => h("li", {}, part)))
    : h("span", { class: "muted" }, "The account's only");
}

export function usageSummary(key) {
  const usage = key.usage;
  return `${fmt.count(usage.requests)} requests · ${fmt.shortCount(usage.total_tokens)} tokens · ${fmt.usd(usage.cost_usd)}`;
}

// datetime-local holds local wall time without a zone, to the minute.
function localInput(iso) {
  if (!iso) return "";
  const moment = new Date(iso);
  const two = (n) => String(n).padStart(2, "0");
  return `${moment.getFullYear()}-${two(moment.getMonth() + 1)}-${two(moment.getDate())}`
    + `T${two(moment.getHours())}:${two(moment.getMinutes())}`;
}

function models(text) {
  const list = text.split(/[\s,]+/).filter(Boolean);
  return list.length ? list : null;
}

function wholeOrAsTyped(text) {
  return /^[0-9]{1,9}$/.test(text) ? Number(text) : text;  // anything else: the API says what is wrong
}

function expiry(text) {
  const moment = new Date(text);
  return Number.isNaN(moment.getTime()) ? text : moment.toISOString();
}

// The fields whose values differ from the key's: what PATCH is sent.
function changes(key, values) {
  const body = {};
  const typed = {
    scope: values.scope,
    allowed_models: models(values.allowed_models.trim()),
    monthly_budget_usd: values.monthly_budget_usd.trim() || null,
    requests_per_minute: values.requests_per_minute.trim() ? wholeOrAsTyped(values.requests_per_minute.trim()) : null,
  };
  for (const [name, value] of Object.entries(typed)) {
    if (JSON.stringify(value) !== JSON.stringify(key[name])) body[name] = value;
  }
  if (values.expires_at !== localInput(key.expires_at)) body.expires_at = values.expires_at ? expiry(values.expires_at) : null;
  return body;
}

export function keyEditor(key, { onSaved, onCancel }) {
  const error = alertRegion();
  const form = h("form", { class: "key-editor", "aria-label": `Limits of ${key.name}` },
    field({ label: "Scope", name: "scope", type: "select", options: SCOPES }),
    field({ label: "Models", name: "allowed_models", value: (key.allowed_models ?? []).join(", "), autocomplete: "off",
            placeholder: "every model", hint: "Ids or patterns, comma-separated: deepseek-*, clew/free" }),
    field({ label: "Monthly budget (USD)", name: "monthly_budget_usd", inputmode: "decimal", autocomplete: "off",
            value: key.monthly_budget_usd ?? "", placeholder: "none", hint: "This calendar month (UTC)" }),
    field({ label: "Requests per minute", name: "requests_per_minute", inputmode: "numeric", autocomplete: "off",
            value: key.requests_per_minute ?? "", placeholder: "the tier's", hint: "At most your tier's" }),
    field({ label: "Expires", name: "expires_at", type: "datetime-local", value: localInput(key.expires_at),
            hint: "Your local time; empty: never" }),
    error,
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Save changes"),
      h("button", { type: "button", class: "secondary", onclick: onCancel }, "Cancel")));
  form.elements.namedItem("scope").value = key.scope;
  onSubmit(form, error, async (values) => {
    const body = changes(key, values);
    onSaved(Object.keys(body).length ? await patch(`/v1/keys/${encodeURIComponent(key.id)}`, body) : null);
  });
  return form;
}
