// Webhooks: where the gateway POSTs account events, signed with a secret shown once.
import { dashboardConfig, del, get, post } from "../api.js";
import { confirmAction } from "../dialog.js";
import { fill, h, uid } from "../dom.js";
import * as fmt from "../format.js";
import { alertRegion, field, onSubmit, showError } from "../forms.js";
import { loadFailed, loading, notice, pageHeader, secretOnce, table } from "../widgets.js";

function hookTable(hooks, onDelete) {
  return table({
    rows: hooks, className: "webhooks", emptyMessage: "No webhooks yet.",
    columns: [
      { label: "URL", cell: (w) => h("code", { class: "url" }, w.url) },
      { label: "Events", cell: (w) => w.events.join(", ") },
      { label: "Description", cell: (w) => w.description },
      { label: "Secret", cell: (w) => h("code", {}, w.secret_masked) },
      { label: "Created", cell: (w) => fmt.when(w.created_at) },
      { label: "Actions", cell: (w) => h("button", { type: "button", class: "danger small",
                                                      "aria-label": `Delete the webhook to ${w.url}`,
                                                      onclick: () => onDelete(w) }, "Delete") },
    ],
  });
}

function eventChoices(types) {
  return h("fieldset", { class: "checkboxes" }, h("legend", {}, "Events"), types.map((type) => {
    const id = uid("event");
    return h("span", {}, h("input", { type: "checkbox", id, name: "events", value: type }), h("label", { for: id }, type));
  }));
}

export const page = {
  title: "Webhooks",
  access: "account",
  async render(view) {
    const list = h("section", { "aria-label": "Your webhooks" }, loading("Loading webhooks"));
    const status = h("div");
    const revealed = h("div");
    const formArea = h("section", { class: "card" }, h("h2", {}, "Add a webhook"), loading("Loading event types"));
    view.append(pageHeader("Webhooks", "The gateway POSTs each event you choose to your URL, signed with the webhook's secret."),
      formArea, revealed, status, list);
    const refresh = async () => {
      try {
        fill(list, hookTable((await get("/v1/webhooks")).data, remove));
      } catch (error) {
        fill(list, loadFailed(error));
      }
    };
    const remove = async (hook) => {
      if (!(await confirmAction({ title: "Delete this webhook?", confirmLabel: "Delete webhook",
                                  message: `Events will no longer be sent to ${hook.url}.` }))) return;
      try {
        await del(`/v1/webhooks/${encodeURIComponent(hook.id)}`);
        fill(status, notice("Deleted the webhook.", "success"));
      } catch (error) {
        const region = alertRegion();
        showError(region, error);
        fill(status, region);
      }
      await refresh();
    };
    const drawForm = async () => {
      const error = alertRegion();
      const form = h("form", { class: "stack" },
        field({ label: "URL", name: "url", type: "url", required: true, placeholder: "https://example.com/clew-events",
                autocomplete: "off" }),
        field({ label: "Description (optional)", name: "description", maxlength: 200, autocomplete: "off" }),
        eventChoices((await dashboardConfig()).webhook_events),
        error, h("button", { type: "submit", class: "primary" }, "Add webhook"));
      onSubmit(form, error, async ({ url, description }, formElement) => {
        const events = new FormData(formElement).getAll("events");
        const created = await post("/v1/webhooks", { url, description, events });
        formElement.reset();
        fill(status);
        fill(revealed, secretOnce({
          title: "Signing secret", secret: created.secret,
          warning: "Copy it now: your receiver checks each delivery's signature with it, and it is not shown again.",
        }));
        revealed.querySelector("button").focus();
        await refresh();
      });
      fill(formArea, h("h2", {}, "Add a webhook"), form);
    };
    await Promise.all([refresh(), drawForm().catch((error) => fill(formArea, loadFailed(error)))]);
  },
};
