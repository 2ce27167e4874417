// API keys: the list (masked, with each key's scope, limits, this month's usage and last use), a new
// key shown once with a copy button, editing a key's scope and limits, revoking with confirmation.
// Only a session (this page) can create a management key or change one.
import { del, get, post } from "../api.js";
import { confirmAction } from "../dialog.js";
import { fill, h } from "../dom.js";
import * as fmt from "../format.js";
import { alertRegion, field, onSubmit, showError } from "../forms.js";
import { keyEditor, limitsSummary, SCOPES, usageSummary } from "../key_limits.js";
import { loadFailed, loading, notice, pageHeader, secretOnce, table } from "../widgets.js";

function keyTable(keys, { onEdit, onRevoke }) {
  return table({
    rows: keys, className: "keys", emptyMessage: "No API keys yet. Create one above to call the API from a program.",
    columns: [
      { label: "Name", cell: (k) => k.name },
      { label: "Key", cell: (k) => h("code", {}, k.masked) },
      { label: "Scope", cell: (k) => h("span", { class: `badge scope ${k.scope}` }, k.scope) },
      { label: "Limits", cell: limitsSummary },
      { label: "This month", cell: usageSummary },
      { label: "Last used", cell: (k) => (k.last_used_at ? fmt.when(k.last_used_at) : "Never") },
      { label: "Created", cell: (k) => fmt.when(k.created_at) },
      { label: "Actions", cell: (k) => h("span", { class: "row-actions" },
        h("button", { type: "button", class: "small", "aria-label": `Edit ${k.name}`, onclick: () => onEdit(k) }, "Edit"),
        h("button", { type: "button", class: "danger small", "aria-label": `Revoke ${k.name}`,
                      onclick: () => onRevoke(k) }, "Revoke")) },
    ],
  });
}

export const page = {
  title: "API keys",
  access: "account",
  async render(view) {
    const list = h("section", { class: "key-list", "aria-label": "Your API keys" }, loading("Loading keys"));
    const revealed = h("div");
    const status = h("div");
    const editor = h("div");
    const refresh = async () => {
      try {
        fill(list, keyTable((await get("/v1/keys")).data, { onEdit: edit, onRevoke: revoke }));
      } catch (error) {
        fill(list, loadFailed(error));
      }
    };
    const edit = (key) => {
      const close = () => fill(editor);
      fill(status);
      fill(editor, h("section", { class: "card" }, h("h2", {}, `Edit “${key.name}”`),
        keyEditor(key, {
          onCancel: close,
          onSaved: async (saved) => {
            close();
            await refresh();  // the list shows the change before the notice says it is saved
            fill(status, notice(saved ? `Saved “${key.name}”.` : "Nothing changed.", "success"));
          },
        })));
      editor.querySelector("select, input").focus();
    };
    const revoke = async (key) => {
      const sure = await confirmAction({
        title: `Revoke “${key.name}”?`, confirmLabel: "Revoke key",
        message: `Programs using ${key.masked} will be refused from now on. This cannot be undone.`,
      });
      if (!sure) return;
      try {
        await del(`/v1/keys/${encodeURIComponent(key.id)}`);
        fill(status, notice(`Revoked “${key.name}”.`, "success"));
      } catch (error) {
        const region = alertRegion();
        showError(region, error);
        fill(status, region);
      }
      await refresh();
    };
    const error = alertRegion();
    const form = h("form", { class: "inline-form", "aria-label": "Create an API key" },
      field({ label: "Key name", name: "name", maxlength: 100, required: true, placeholder: "e.g. laptop",
              autocomplete: "off" }),
      field({ label: "Scope", name: "scope", type: "select", options: SCOPES }),
      h("button", { type: "submit", class: "primary" }, "Create key"), error);
    onSubmit(form, error, async ({ name, scope }, formElement) => {
      const created = await post("/v1/keys", { name, scope });
      formElement.reset();
      fill(status);
      fill(revealed, secretOnce({
        title: `Your new ${created.scope} key “${created.name}”`, secret: created.key,
        warning: "Copy it now and keep it somewhere safe: this is the only time it is shown.",
        onDone: () => form.querySelector("input").focus(),
      }));
      revealed.querySelector("button").focus();
      await refresh();
    });
    view.append(pageHeader("API keys", "Programs send a key in the X-API-Key header (or as a Bearer token)."),
      h("section", { class: "card" }, h("h2", {}, "Create a key"), form), revealed, editor, status, list);
    await refresh();
  },
};
