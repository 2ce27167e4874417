// Provider keys (bring your own key): requests to that provider then use the account's own key.
import { del, get, post } from "../api.js";
import { confirmAction } from "../dialog.js";
import { fill, h } from "../dom.js";
import * as fmt from "../format.js";
import { alertRegion, field, onSubmit, showError } from "../forms.js";
import { loadFailed, loading, notice, pageHeader, table } from "../widgets.js";

// The providers that serve the models /v1/models lists.
async function providers() {
  const models = (await get("/v1/models")).data;
  return [...new Set(models.map((m) => m.owned_by))].sort();
}

function keyTable(keys, onDelete) {
  return table({
    rows: keys, className: "provider-keys", emptyMessage: "No provider keys: every request uses the gateway's own keys.",
    columns: [
      { label: "Provider", cell: (k) => k.provider },
      { label: "Key", cell: (k) => h("code", {}, k.masked) },
      { label: "Added", cell: (k) => fmt.when(k.created_at) },
      { label: "Actions", cell: (k) => h("button", { type: "button", class: "danger small",
                                                      "aria-label": `Delete the ${k.provider} key`,
                                                      onclick: () => onDelete(k) }, "Delete") },
    ],
  });
}

export const page = {
  title: "Provider keys",
  access: "account",
  async render(view) {
    const list = h("section", { "aria-label": "Your provider keys" }, loading("Loading provider keys"));
    const status = h("div");
    const formArea = h("section", { class: "card" }, h("h2", {}, "Add a provider key"), loading("Loading providers"));
    view.append(pageHeader("Provider keys",
      "Bring your own key: requests to that provider are sent with your key instead of the gateway's."),
    formArea, status, list);
    const refresh = async () => {
      try {
        fill(list, keyTable((await get("/v1/provider-keys")).data, remove));
      } catch (error) {
        fill(list, loadFailed(error));
      }
    };
    const remove = async (key) => {
      if (!(await confirmAction({ title: `Delete the ${key.provider} key?`, confirmLabel: "Delete key",
                                  message: `Requests to ${key.provider} will use the gateway's own key again.` }))) return;
      try {
        await del(`/v1/provider-keys/${encodeURIComponent(key.provider)}`);
        fill(status, notice(`Deleted the ${key.provider} key.`, "success"));
      } catch (error) {
        const region = alertRegion();
        showError(region, error);
        fill(status, region);
      }
      await refresh();
    };
    const drawForm = async () => {
      const error = alertRegion();
      const names = await providers();
      const form = h("form", { class: "inline-form" },
        field({ label: "Provider", name: "provider", type: "select", options: names.map((p) => [p, p]) }),
        field({ label: "Key", name: "key", type: "password", autocomplete: "off", required: true,
                hint: "Stored encrypted and never shown again. A provider's new key replaces its old one." }),
        h("button", { type: "submit", class: "primary" }, "Save key"), error);
      onSubmit(form, error, async ({ provider, key }, formElement) => {
        const saved = await post("/v1/provider-keys", { provider, key });
        formElement.reset();
        fill(status, notice(`Saved the ${saved.provider} key ${saved.masked}.`, "success"));
        await refresh();
      });
      fill(formArea, h("h2", {}, "Add a provider key"), form);
    };
    await Promise.all([refresh(), drawForm().catch((error) => fill(formArea, loadFailed(error)))]);
  },
};
