// The traffic panel: bar charts (inline SVG) of the last 24 hours from /api/traffic, events received
// and each queued sink's delivered, retried and failed attempts, with its delivery delay.
import { api } from "./api.js";
import { $, duration, el } from "./dom.js";
import { view } from "./state.js";

const SVG = "http://www.w3.org/2000/svg";
const MINUTE_MS = 60_000;
/** Minutes per bar: 96 bars a day, each still a few pixels wide on a phone. */
const SLOT_MINUTES = 15;
const SLOTS = (24 * 60) / SLOT_MINUTES;
/** The charts' drawing box; the SVG stretches it to the page's width. */
const CHART_WIDTH = SLOTS * 10;
const CHART_HEIGHT = 100;

function svg(tag, attributes = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  node.append(...children);
  return node;
}

/** Counts per minute → totals per slot of the window, oldest first. */
function slotTotals(counts, since) {
  const totals = new Array(SLOTS).fill(0);
  for (const { minute, count } of counts) {
    const slot = Math.floor((Date.parse(minute) - since) / (SLOT_MINUTES * MINUTE_MS));
    if (slot >= 0 && slot < SLOTS) totals[slot] += count;
  }
  return totals;
}

function slotLabel(since, slot) {
  const start = new Date(since + slot * SLOT_MINUTES * MINUTE_MS).toISOString().slice(11, 16);
  const end = new Date(since + (slot + 1) * SLOT_MINUTES * MINUTE_MS).toISOString().slice(11, 16);
  return `${start}–${end} UTC`;
}

const perMinute = (total) => {
  const rate = total / SLOT_MINUTES;
  return rate >= 10 ? rate.toFixed(0) : rate.toFixed(rate >= 1 ? 1 : 2);
};

/**
 * A bar chart of one or more stacked series (slot totals), scaled to its tallest bar, with the
 * numbers of each bar in its tooltip.
 */
function barChart(title, series, since, extra) {
  const stacked = series[0].totals.map((_, slot) => series.reduce((sum, one) => sum + one.totals[slot], 0));
  const max = Math.max(0, ...stacked);
  const chart = svg("svg", {
    viewBox: `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`,
    preserveAspectRatio: "none",
    role: "img",
    "aria-label": title,
  });
  if (max > 0) {
    stacked.forEach((total, slot) => {
      if (total === 0) return;
      let top = CHART_HEIGHT;
      const tooltip = `${slotLabel(since, slot)}: ${series.map((one) => `${one.totals[slot]} ${one.name}`).join(", ")} (${perMinute(total)}/min)`;
      for (const one of series) {
        const value = one.totals[slot];
        if (value === 0) continue;
        const height = (value / max) * CHART_HEIGHT;
        top -= height;
        const bar = svg("rect", { class: `bar ${one.name}`, x: slot * 10 + 1, y: top, width: 8, height }, svg("title", {}, tooltip));
        bar.dataset.slot = String(slot);
        bar.dataset.count = String(value);
        chart.append(bar);
      }
    });
  }
  // The scale: what the top of the chart stands for.
  const scale = max === 0 ? "nothing in 24 h" : `${perMinute(max)}/min`;
  return el(
    "figure",
    { className: "chart" },
    el("h3", {}, el("span", {}, title), extra ? el("span", { className: "delay" }, extra) : null),
    el("div", { className: "plot" }, chart, el("span", { className: "scale" }, scale)),
    el("div", { className: "axis" }, el("span", {}, "24 h ago"), el("span", {}, "12 h ago"), el("span", {}, "now")),
  );
}

function delayText(delay) {
  if (!delay) return "no deliveries";
  return `delay p50 ${duration(delay.p50)} · p95 ${duration(delay.p95)} (${delay.count})`;
}

function renderTraffic(traffic) {
  const since = Date.parse(traffic.since);
  const charts = [barChart("events received", [{ name: "received", totals: slotTotals(traffic.received, since) }], since)];
  for (const sink of traffic.sinks) {
    if (!view.queuedSinks.includes(sink.name)) continue;
    const series = ["delivered", "retried", "failed"].map((name) => ({ name, totals: slotTotals(sink[name], since) }));
    const chart = barChart(sink.name, series, since, delayText(sink.delayMs));
    chart.dataset.sink = sink.name;
    charts.push(chart);
  }
  const legend = el(
    "p",
    { className: "legend" },
    "deliveries:",
    ...["delivered", "retried", "failed"].flatMap((name) => [el("span", { className: `swatch ${name}` }), name]),
    " · delay: from an event's receipt to its delivery",
  );
  $("#traffic-charts").replaceChildren(...charts, legend);
}

export async function loadTraffic() {
  renderTraffic(await api("/api/traffic"));
}
