// A stacked bar chart in SVG, drawn by our own code: one bar per day, one segment per series
// (model). It redraws to the width it is given, so labels stay readable on a phone.
import { h, svg } from "./dom.js";
import * as fmt from "./format.js";

const HEIGHT = 240;
const MARGIN = { top: 12, right: 8, bottom: 28 };
const MIN_LABEL_GAP = 60;
const COLOURS = 8;  // .series-0 … .series-7 in app.css

function niceCeiling(value) {
  if (!(value > 0)) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((s) => value <= s * magnitude);
  return step * magnitude;
}

function totals(dates, series) {
  return dates.map((_, day) => series.reduce((sum, s) => sum + s.values[day], 0));
}

function yAxis(max, plotWidth, left, plotHeight, axisFormat) {
  return [0, 1, 2, 3, 4].map((step) => {
    const value = (max * step) / 4;
    const y = MARGIN.top + plotHeight - (plotHeight * step) / 4;
    return svg("g", { class: "tick" },
      svg("line", { class: "grid", x1: left, x2: left + plotWidth, y1: y, y2: y }),
      svg("text", { class: "axis", x: left - 6, y: y + 4, "text-anchor": "end" }, axisFormat(value)));
  });
}

function xLabels(dates, left, band, plotHeight, width) {
  const every = Math.max(1, Math.ceil(MIN_LABEL_GAP / band));
  return dates.map((date, day) => {
    if ((dates.length - 1 - day) % every !== 0) return null;
    const text = fmt.day(date);
    const half = text.length * 3.5;  // about half the label's width at 11px: keep it inside the plot
    const x = Math.min(Math.max(left + band * (day + 0.5), left + half), width - half);
    return svg("text", { class: "axis", x, y: MARGIN.top + plotHeight + 18, "text-anchor": "middle" }, text);
  });
}

function bars(dates, series, scale, left, band, plotHeight, format) {
  const width = Math.max(1, band * 0.72);
  return dates.map((date, day) => {
    let base = MARGIN.top + plotHeight;
    return svg("g", { class: "day", "data-date": date }, series.map((s, index) => {
      const value = s.values[day];
      if (!value) return null;
      const height = Math.max(1, value * scale);
      base -= height;
      return svg("rect", { class: `bar series-${index % COLOURS}`, x: left + band * day + (band - width) / 2, y: base,
                           width, height, "data-series": s.name, "data-value": value },
        svg("title", {}, `${fmt.day(date)} · ${s.name}: ${format(value)}`));
    }));
  });
}

function draw(plot, { dates, series, format, axisFormat, label }) {
  const width = plot.clientWidth;
  if (!width) return;
  const max = niceCeiling(Math.max(0, ...totals(dates, series)));
  const left = Math.max(...[0, 1, 2, 3, 4].map((s) => axisFormat((max * s) / 4).length)) * 7 + 14;
  const plotWidth = Math.max(10, width - left - MARGIN.right);
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const band = plotWidth / dates.length;
  plot.replaceChildren(svg("svg", { width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: "img",
                                    "aria-label": label },
    yAxis(max, plotWidth, left, plotHeight, axisFormat),
    bars(dates, series, plotHeight / max, left, band, plotHeight, format),
    xLabels(dates, left, band, plotHeight, width)));
}

export function stackedBars(data) {
  const plot = h("div", { class: "plot" });
  const legend = h("ul", { class: "legend", "aria-label": "Models" }, data.series.map((s, index) =>
    h("li", {}, h("span", { class: `swatch series-${index % COLOURS}`, "aria-hidden": "true" }), s.name)));
  let lastWidth = 0;
  const observer = new ResizeObserver(() => {
    if (!plot.isConnected) observer.disconnect();
    else if (plot.clientWidth !== lastWidth) {
      lastWidth = plot.clientWidth;
      draw(plot, data);
    }
  });
  observer.observe(plot);
  return h("figure", { class: "chart" }, plot, legend);
}
