// Activity: the account's requests, newest first (GET /v1/requests), filtered by key, model, status and
// time, a page at a time: "Load more" asks for the page after the last one shown (its cursor).
import { get } from "../api.js";
import { fill, h } from "../dom.js";
import * as fmt from "../format.js";
import { alertRegion, field, onSubmit } from "../forms.js";
import { loadFailed, loading, pageHeader, table } from "../widgets.js";

const PAGE_SIZE = 50;
const STATUSES = [["", "Any status"], ["error", "Errors (400 and above)"], ["200", "200 OK"],
  ["429", "429 Too many requests"], ["499", "499 Client left"], ["502", "502 Provider error"]];

function statusBadge(status) {
  return h("span", { class: `badge status ${status >= 400 ? "error" : "ok"}` }, String(status));
}

function requestTable(requests, filtered) {
  return table({
    rows: requests, className: "requests",
    emptyMessage: filtered ? "No requests match these filters." : "No requests yet. Requests to the AI endpoints show here.",
    columns: [
      { label: "Time", cell: (r) => h("time", { datetime: r.created_at, title: fmt.when(r.created_at) },
        fmt.instant(r.created_at)) },
      { label: "Endpoint", cell: (r) => h("code", {}, r.endpoint || "—") },
      { label: "Model", cell: (r) => r.model },
      { label: "Key", cell: (r) => (r.key ? h("code", {}, r.key) : "Session") },
      { label: "Tokens", numeric: true, cell: (r) => h("span", {
        title: `${fmt.count(r.prompt_tokens)} prompt · ${fmt.count(r.completion_tokens)} completion` },
      fmt.count(r.total_tokens)) },
      { label: "Cost", numeric: true, cell: (r) => fmt.usd(r.cost_usd) },
      { label: "Status", cell: (r) => statusBadge(r.status) },
      { label: "Latency", numeric: true, cell: (r) => `${fmt.count(r.latency_ms)} ms` },
      { label: "Stream", cell: (r) => (r.streamed ? "Yes" : "No") },
    ],
  });
}

// The form's values as the API's query: empty fields left out, local times sent as UTC instants.
function queryOf(values) {
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const name of ["key_id", "model", "status"]) if (values[name]) query.set(name, values[name]);
  for (const name of ["from", "to"]) if (values[name]) query.set(name, new Date(values[name]).toISOString());
  return query;
}

function filterForm(keys, models, error) {
  return h("form", { class: "inline-form filters", "aria-label": "Filter requests" },
    field({ label: "Key", name: "key_id", type: "select",
            options: [["", "All keys and sessions"], ...keys.map((k) => [k.id, `${k.name} (${k.masked})`])] }),
    field({ label: "Model", name: "model", type: "select",
            options: [["", "All models"], ...models.map((m) => [m.id, m.id])] }),
    field({ label: "Status", name: "status", type: "select", options: STATUSES }),
    field({ label: "From", name: "from", type: "datetime-local", step: 1 }),
    field({ label: "To", name: "to", type: "datetime-local", step: 1 }),
    h("button", { type: "submit", class: "primary" }, "Apply filters"), error);
}

export const page = {
  title: "Activity",
  access: "account",
  async render(view) {
    const list = h("section", { class: "request-list", "aria-label": "Requests", "aria-live": "polite" },
      loading("Loading requests"));
    const more = h("button", { type: "button", class: "secondary load-more", hidden: true }, "Load more");
    const state = { query: queryOf({}), requests: [], cursor: null, filtered: false };
    const draw = () => {
      fill(list, requestTable(state.requests, state.filtered));
      more.hidden = !state.cursor;
    };
    const load = async () => {  // the next page of the current query (the first when no cursor)
      const query = new URLSearchParams(state.query);
      if (state.cursor) query.set("cursor", state.cursor);
      const page = await get(`/v1/requests?${query}`);
      state.requests = [...state.requests, ...page.data];
      state.cursor = page.next_cursor;
      draw();
    };
    more.addEventListener("click", async () => {
      more.disabled = true;
      try {
        await load();
      } catch (error) {
        fill(list, loadFailed(error));
      } finally {
        more.disabled = false;
      }
    });
    const filters = h("section", { class: "card" }, loading("Loading filters"));
    view.append(pageHeader("Activity", "Every request your keys and sessions made, newest first."), filters, list,
      h("div", { class: "actions" }, more));
    const choices = Promise.all([get("/v1/keys").then((body) => body.data, () => []),
      get("/v1/models").then((body) => body.data, () => [])]).then(([keys, models]) => {
      const error = alertRegion();
      const form = filterForm(keys, models, error);
      // A bad filter (a time the API refuses) shows in the form; the list keeps what it showed.
      onSubmit(form, error, async (values) => {
        const query = queryOf(values);
        const page = await get(`/v1/requests?${query}`);
        Object.assign(state, { query, requests: page.data, cursor: page.next_cursor,
                               filtered: [...query.keys()].length > 1 });
        draw();
      });
      fill(filters, form);
    });
    await Promise.all([choices, load().catch((failure) => fill(list, loadFailed(failure)))]);
  },
};
