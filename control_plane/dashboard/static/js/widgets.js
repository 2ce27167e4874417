// Pieces every page uses: headings, loading and empty states, tables that fold into cards on a
// phone, notices, and the panel that shows a secret once with a copy button.
import { ApiError } from "./api.js";
import { h } from "./dom.js";

export function pageHeader(title, intro = "") {
  return h("header", { class: "page-header" },
    h("h1", { tabindex: "-1" }, title),
    intro ? h("p", { class: "intro" }, intro) : null);
}

export function loading(what = "Loading") {
  return h("p", { class: "loading", role: "status" }, `${what}…`);
}

export function empty(message) {
  return h("p", { class: "empty" }, message);
}

export function notice(message, kind = "info") {
  return h("p", { class: `alert ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
}

export function loadFailed(error) {
  const message = error instanceof ApiError ? error.message : "Something went wrong while loading this page.";
  if (!(error instanceof ApiError)) console.error(error);
  return notice(message, "error");
}

// columns: [{label, cell(row) -> text or node, numeric}]
export function table({ caption, columns, rows, emptyMessage, className = "" }) {
  if (!rows.length && emptyMessage) return empty(emptyMessage);
  const head = h("tr", {}, columns.map((column) =>
    h("th", { scope: "col", class: column.numeric ? "num" : null }, column.label)));
  const body = rows.map((row) => h("tr", {}, columns.map((column) =>
    h("td", { "data-label": column.label, class: column.numeric ? "num" : null }, column.cell(row)))));
  return h("div", { class: "table-wrap" },
    h("table", { class: `data ${className}`.trim() },
      caption ? h("caption", {}, caption) : null,
      h("thead", {}, head),
      h("tbody", {}, body)));
}

async function copy(text, input) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    input.select();  // no clipboard access (a plain-HTTP host): leave it selected for Ctrl-C
    return false;
  }
}

export function secretOnce({ title, secret, warning, onDone }) {
  const input = h("input", { type: "text", readonly: true, value: secret, class: "secret", "aria-label": title,
                             spellcheck: "false", autocomplete: "off" });
  const status = h("span", { class: "copy-status", role: "status" });
  const copyButton = h("button", { type: "button", class: "primary" }, "Copy");
  copyButton.addEventListener("click", async () => {
    status.textContent = (await copy(secret, input)) ? "Copied" : "Selected: press Ctrl-C to copy";
  });
  const done = h("button", { type: "button", class: "secondary" }, "Done");
  const panel = h("section", { class: "secret-once", "aria-label": title },
    h("h2", {}, title),
    h("p", { class: "warning" }, warning),
    h("div", { class: "secret-row" }, input, copyButton),
    h("div", { class: "actions" }, status, done));
  done.addEventListener("click", () => {
    panel.remove();
    onDone?.();
  });
  return panel;
}
