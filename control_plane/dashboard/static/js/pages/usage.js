// Usage: tokens or cost per day over the last 7, 30 or 90 days, and this month by provider and model.
import { get } from "../api.js";
import { stackedBars } from "../chart.js";
import { fill, h, uid } from "../dom.js";
import * as fmt from "../format.js";
import { loadFailed, loading, pageHeader, table } from "../widgets.js";

const RANGES = [7, 30, 90];
const METRICS = {
  tokens: { label: "Tokens", of: (totals) => totals.total_tokens, format: (v) => `${fmt.count(v)} tokens`,
            axis: fmt.shortCount },
  cost: { label: "Cost", of: (totals) => Number(totals.cost_usd), format: (v) => fmt.usd(v),
          axis: (v) => fmt.usd(v) },
};

// One series per model used in the range (the API splits each day by model); none used: one empty series.
function seriesOf(days, metric) {
  const models = [...new Set(days.flatMap((d) => (d.by_model ?? []).map((m) => m.model)))].sort();
  if (!models.length) return [{ name: "All models", values: days.map((d) => metric.of(d)) }];
  return models.map((model) => ({
    name: model,
    values: days.map((d) => {
      const entry = (d.by_model ?? []).find((m) => m.model === model);
      return entry ? metric.of(entry) : 0;
    }),
  }));
}

function choice(legend, name, options, selected, onChange) {
  return h("fieldset", { class: "segmented" }, h("legend", {}, legend), options.map(([value, text]) => {
    const id = uid(name);
    const input = h("input", { type: "radio", id, name, value, checked: value === selected });
    input.addEventListener("change", () => onChange(value));
    return h("span", {}, input, h("label", { for: id }, text));
  }));
}

function dailyTable(days) {
  return table({
    caption: "Per day", rows: [...days].reverse(), className: "daily", columns: [
      { label: "Date", cell: (d) => d.date },
      { label: "Requests", cell: (d) => fmt.count(d.requests), numeric: true },
      { label: "Tokens", cell: (d) => fmt.count(d.total_tokens), numeric: true },
      { label: "Cost", cell: (d) => fmt.usd(d.cost_usd), numeric: true },
    ],
  });
}

function drawChart(area, daily, metricName) {
  const metric = METRICS[metricName];
  const days = daily.data;
  const total = days.reduce((sum, d) => sum + metric.of(d), 0);
  const heading = `${metric.label} per day, last ${daily.days} days (UTC)`;
  if (!total) {
    fill(area, h("h2", {}, heading), h("p", { class: "empty" }, `No usage in the last ${daily.days} days.`));
    return;
  }
  fill(area, h("h2", {}, heading),
    h("p", { class: "chart-total" }, `${metric.format(total)} in total`),
    stackedBars({ dates: days.map((d) => d.date), series: seriesOf(days, metric), format: metric.format,
                  axisFormat: metric.axis, label: `${heading}: ${metric.format(total)} in total` }),
    h("details", {}, h("summary", {}, "Daily numbers"), dailyTable(days)));
}

function breakdowns(usage) {
  const numbers = [
    { label: "Requests", cell: (r) => fmt.count(r.requests), numeric: true },
    { label: "Prompt tokens", cell: (r) => fmt.count(r.prompt_tokens), numeric: true },
    { label: "Completion tokens", cell: (r) => fmt.count(r.completion_tokens), numeric: true },
    { label: "Total tokens", cell: (r) => fmt.count(r.total_tokens), numeric: true },
    { label: "Cost", cell: (r) => fmt.usd(r.cost_usd), numeric: true },
  ];
  const when = fmt.month(usage.period);
  return [
    h("h2", {}, `By provider, ${when}`),
    table({ rows: usage.by_provider, className: "by-provider", emptyMessage: "No usage this month yet.",
            columns: [{ label: "Provider", cell: (r) => r.provider }, ...numbers] }),
    h("h2", {}, `By model, ${when}`),
    table({ rows: usage.by_model, className: "by-model", emptyMessage: "No usage this month yet.",
            columns: [{ label: "Model", cell: (r) => r.model }, ...numbers] }),
  ];
}

export const page = {
  title: "Usage",
  access: "account",
  async render(view) {
    const state = { days: 30, metric: "tokens", daily: null };
    const area = h("section", { class: "card chart-area", "aria-live": "polite" }, loading("Loading usage"));
    const tables = h("section", { class: "breakdowns" }, loading("Loading this month"));
    const load = async () => {
      area.setAttribute("aria-busy", "true");
      try {
        state.daily = await get(`/v1/usage/daily?days=${state.days}`);
        drawChart(area, state.daily, state.metric);
      } catch (error) {
        fill(area, loadFailed(error));
      } finally {
        area.removeAttribute("aria-busy");
      }
    };
    const controls = h("div", { class: "controls" },
      choice("Period", "days", RANGES.map((d) => [String(d), `${d} days`]), "30", (value) => {
        state.days = Number(value);
        load();
      }),
      choice("Show", "metric", Object.entries(METRICS).map(([k, m]) => [k, m.label]), "tokens", (value) => {
        state.metric = value;
        if (state.daily) drawChart(area, state.daily, state.metric);
      }));
    view.append(pageHeader("Usage"), controls, area, tables);
    const month = get("/v1/usage").then((usage) => fill(tables, breakdowns(usage)),
      (error) => fill(tables, loadFailed(error)));
    await Promise.all([load(), month]);
  },
};
