// The range's figures: KPI rows (GET analytics/kpis/) turned into the series the charts draw,
// drawn with the vendored uPlot (a global from vendor.uplot.min.js), each chart with its data as
// a table behind "Show the data", and the weekday × hour heat map as a coloured table with numbers.
// The series given to uPlot are also kept on the figure's data-series attribute (JSON), so tests
// and tools can read what is drawn without reading pixels. With a comparison, the previous
// period's rows (the API's compare_items) are drawn beside the range's, never merged with them.

import { h } from "./dom.js";
import { language, t } from "./i18n.js";

const HOURS = Array.from({ length: 24 }, (_, hour) => hour);
const DAY_MS = 86_400_000;

const minutes = (seconds) => (seconds === null || seconds === undefined ? null : seconds / 60);
const percent = (share) => (share === null || share === undefined ? null : share * 100);

/** Rows by hour -> [hours, arrivals, mean wait in minutes], and with the previous period's rows
 * by hour a fourth series, its arrivals; an hour without a row is 0 / null. */
export function hourSeries(rows, previous = null) {
  const byHour = new Map(rows.map((row) => [row.hour, row]));
  const series = [
    HOURS,
    HOURS.map((hour) => byHour.get(hour)?.arrivals ?? 0),
    HOURS.map((hour) => minutes(byHour.get(hour)?.wait_mean_seconds ?? null)),
  ];
  if (previous) {
    const before = new Map(previous.map((row) => [row.hour, row]));
    series.push(HOURS.map((hour) => before.get(hour)?.arrivals ?? 0));
  }
  return series;
}

/** Every day from ``from`` to ``to`` (ISO dates, both included). */
export function daysOf(from, to) {
  const days = [];
  for (let at = Date.parse(`${from}T00:00:00Z`); at <= Date.parse(`${to}T00:00:00Z`); at += DAY_MS) {
    days.push(new Date(at).toISOString().slice(0, 10));
  }
  return days;
}

/** Rows by day -> [days as Unix seconds (UTC midnight), SLA compliance in %]. */
export function slaSeries(rows, from, to) {
  const byDay = new Map(rows.map((row) => [row.day, row]));
  const days = daysOf(from, to);
  return [
    days.map((day) => Date.parse(`${day}T00:00:00Z`) / 1000),
    days.map((day) => percent(byDay.get(day)?.sla_compliance ?? null)),
  ];
}

/** Rows by weekday and hour (ISO weekday, 1 = Monday) -> 7 × 24 cells, Monday first, of
 * {arrivals, wait, p90} (seconds or null): each cell is one row the API computed. */
export function heatCells(rows) {
  const byCell = new Map(rows.map((row) => [`${row.weekday}:${row.hour}`, row]));
  return Array.from({ length: 7 }, (_, index) =>
    HOURS.map((hour) => {
      const row = byCell.get(`${index + 1}:${hour}`);
      return { arrivals: row?.arrivals ?? 0, wait: row?.wait_mean_seconds ?? null, p90: row?.wait_p90_seconds ?? null };
    }),
  );
}

// -- drawing -----------------------------------------------------------------------------------

const plots = new Map();

/** A figure in the page's language ("1,234.5", "1 234,5"), at most ``digits`` decimals; "—" for null. */
export function number(value, digits = 1) {
  if (value === null || value === undefined) return t("dashboard.none");
  return value.toLocaleString(language() === "fr" ? "fr-FR" : "en-GB", { maximumFractionDigits: digits });
}

function dataTable(headers, rows) {
  return h(
    "table",
    { class: "data" },
    h("thead", {}, h("tr", {}, headers.map((text) => h("th", { scope: "col" }, text)))),
    h(
      "tbody",
      {},
      rows.map(([head, ...cells]) => h("tr", {}, h("th", { scope: "row" }, head), cells.map((cell) => h("td", {}, cell)))),
    ),
  );
}

function draw(figure, options, data) {
  figure.dataset.series = JSON.stringify(data);
  const target = figure.querySelector(".plot");
  plots.get(figure.id)?.destroy();
  plots.delete(figure.id);
  target.replaceChildren();
  if (typeof globalThis.uPlot !== "function") return; // the table still holds the data
  const width = Math.max(280, Math.min(target.clientWidth || 560, 900));
  plots.set(figure.id, new globalThis.uPlot({ width, height: 240, ...options }, data, target));
}

/** Arrivals (bars) and mean wait (line) by hour of the site-local day; with the previous
 * period's rows (``previous``), its arrivals as a dashed line with points. */
export function drawHours(figure, rows, previous = null) {
  const data = hourSeries(rows, previous);
  const series = [
    { label: t("dashboard.hour") },
    { label: t("dashboard.arrivals"), stroke: "#0b57d0", fill: "rgba(11,87,208,.18)", paths: globalThis.uPlot?.paths?.bars?.({ size: [0.7, 40] }) },
    { label: t("dashboard.meanWait"), stroke: "#b45309", width: 2, scale: "wait", spanGaps: false },
  ];
  const headers = [t("dashboard.hour"), t("dashboard.arrivals"), t("dashboard.meanWait")];
  if (previous) {
    // Dashed and pointed, not only another colour: the legend's label names it too.
    series.push({ label: t("dashboard.previousArrivals"), stroke: "#4a5261", width: 2, dash: [6, 4], points: { show: true } });
    headers.push(t("dashboard.previousArrivals"));
  }
  draw(
    figure,
    {
      scales: { x: { time: false }, wait: { auto: true } },
      axes: [
        { label: t("dashboard.hour") },
        { label: t("dashboard.arrivals") },
        { label: t("dashboard.meanWait"), scale: "wait", side: 1, grid: { show: false } },
      ],
      series,
    },
    data,
  );
  figure.querySelector(".table").replaceChildren(
    dataTable(
      headers,
      data[0].map((hour, index) => [
        `${String(hour).padStart(2, "0")}:00`,
        data[1][index],
        number(data[2][index]),
        ...(previous ? [data[3][index]] : []),
      ]),
    ),
  );
}

/** "7 Dec" / "7 déc." for a day given as Unix seconds at UTC midnight. */
function dayLabel(seconds) {
  return new Date(seconds * 1000).toLocaleDateString(language() === "fr" ? "fr-FR" : "en-GB", {
    day: "numeric",
    month: "short",
    timeZone: "UTC",
  });
}

/** SLA compliance (%) per day of the range. */
export function drawSla(figure, rows, from, to) {
  const data = slaSeries(rows, from, to);
  draw(
    figure,
    {
      // Days are site-local dates at UTC midnight: read them in UTC, whatever the browser's zone.
      tzDate: (seconds) => globalThis.uPlot.tzDate(new Date(seconds * 1000), "Etc/UTC"),
      scales: { y: { range: [0, 100] } },
      axes: [
        { incrs: [86_400, 7 * 86_400, 28 * 86_400], values: (_, splits) => splits.map(dayLabel) },
        { label: t("dashboard.sla") },
      ],
      series: [{ label: t("dashboard.day") }, { label: t("dashboard.sla"), stroke: "#136f3a", width: 2, points: { show: true } }],
    },
    data,
  );
  const days = daysOf(from, to);
  figure.querySelector(".table").replaceChildren(
    dataTable([t("dashboard.day"), t("dashboard.sla")], days.map((day, index) => [day, number(data[1][index])])),
  );
}

/** The weekday × hour table: arrivals in each cell, its shade from the arrivals, the mean wait
 * beside them (numbers first: the colour only repeats them), the p90 wait in its title. */
export function drawHeat(container, rows) {
  const cells = heatCells(rows);
  const most = Math.max(1, ...cells.flat().map((cell) => cell.arrivals));
  container.dataset.cells = JSON.stringify(cells);
  const hourHeads = HOURS.map((hour) => h("th", { scope: "col" }, String(hour)));
  const body = cells.map((hours, weekday) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, t(`dashboard.weekday.${weekday}`)),
      hours.map((cell) => {
        const inMinutes = (seconds) => (seconds === null ? t("dashboard.none") : t("dashboard.minutes", { minutes: number(minutes(seconds)) }));
        const title = t("dashboard.heatCell", { arrivals: cell.arrivals, wait: inMinutes(cell.wait), p90: inMinutes(cell.p90) });
        return h(
          "td",
          { class: `heat-${Math.ceil((cell.arrivals / most) * 4)}`, title },
          h("span", { class: "arrivals" }, cell.arrivals),
          cell.wait === null ? null : h("span", { class: "wait" }, number(minutes(cell.wait), 0)),
        );
      }),
    ),
  );
  container.replaceChildren(
    h(
      "table",
      { class: "heat-table", "aria-labelledby": "heat-title" },
      h("thead", {}, h("tr", {}, h("td", {}), hourHeads)),
      h("tbody", {}, body),
    ),
  );
}

/** The agent table's columns: header key, the row's value (raw, kept on data-value) and how it
 * is shown. */
const AGENT_COLUMNS = [
  ["dashboard.arrivals", "arrivals", (value) => value],
  ["dashboard.served", "served", (value) => value],
  ["dashboard.noShows", "no_shows", (value) => value],
  ["dashboard.meanWait", "wait_mean_seconds", (value) => number(minutes(value))],
  ["dashboard.meanService", "service_mean_seconds", (value) => number(minutes(value))],
  ["dashboard.meanHandle", "handle_mean_seconds", (value) => number(minutes(value))],
  ["dashboard.sla", "sla_compliance", (value) => number(percent(value))],
  ["dashboard.utilisation", "utilisation", (value) => number(percent(value))],
  ["dashboard.servedPerHour", "served_per_agent_hour", (value) => number(value)],
  ["dashboard.onDuty", "on_duty_seconds", (value) => number(value === null ? null : value / 3600, 2)],
  ["dashboard.csat", "csat_mean", (value) => number(value, 2)],
  ["dashboard.nps", "nps", (value) => number(value, 0)],
];

/** Per agent over the range: visits, waits, service and handle times, SLA, utilisation, served
 * per agent-hour, time on duty, CSAT and NPS ("—" where the API says null). Each cell carries
 * its KPI's name and the API's value (data-kpi, data-value). With the previous period's rows
 * (``previous``), a column of what each agent served then (data-kpi "previous_served"), and a
 * row for an agent seen only then (no row of the range: its counts 0, its other figures "—"). */
export function drawAgents(container, rows, names, previous = null) {
  const key = (row) => row.agent_id ?? "";
  const before = new Map((previous ?? []).map((row) => [key(row), row]));
  const now = new Set(rows.map(key));
  const shown = [
    ...rows,
    ...(previous ?? []).filter((row) => !now.has(key(row))).map((row) => ({ agent_id: row.agent_id, arrivals: 0, served: 0, no_shows: 0 })),
  ];
  const served = AGENT_COLUMNS.findIndex(([, kpi]) => kpi === "served") + 1;
  const heads = AGENT_COLUMNS.map(([head]) => t(head));
  if (previous) heads.splice(served, 0, t("dashboard.previousServed"));
  const table = h(
    "table",
    { class: "data", "aria-labelledby": "agent-table-title" },
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("dashboard.agent")), heads.map((head) => h("th", { scope: "col" }, head)))),
    h(
      "tbody",
      {},
      shown.map((row) => {
        const cells = AGENT_COLUMNS.map(([, kpi, show]) =>
          h("td", { "data-kpi": kpi, "data-value": JSON.stringify(row[kpi] ?? null) }, show(row[kpi] ?? null)),
        );
        if (previous) {
          const then = before.get(key(row))?.served ?? 0;
          cells.splice(served, 0, h("td", { "data-kpi": "previous_served", "data-value": JSON.stringify(then) }, then));
        }
        return h(
          "tr",
          { "data-agent-id": key(row) },
          h("th", { scope: "row" }, row.agent_id ? names.get(row.agent_id) || row.agent_id : t("dashboard.noAgent")),
          cells,
        );
      }),
    ),
  );
  container.replaceChildren(table);
}

/** The summary's headline figures compared: header key, KPI, its value when the API has no row
 * (nothing in the period), the shown unit and decimals, and how the change is said: "relative"
 * (in % of the previous value) or "points" (the difference, in the shown unit). */
const HEADLINES = [
  ["dashboard.arrivals", "arrivals", 0, (value) => value, 0, "relative"],
  ["dashboard.served", "served", 0, (value) => value, 0, "relative"],
  ["dashboard.sla", "sla_compliance", null, percent, 1, "points"],
  ["dashboard.meanWait", "wait_mean_seconds", null, minutes, 1, "relative"],
  ["dashboard.csat", "csat_mean", null, (value) => value, 2, "points"],
  ["dashboard.nps", "nps", null, (value) => value, 0, "points"],
];

const rounded = (value, digits) => Math.round(value * 10 ** digits) / 10 ** digits;

/** "+20 % (up)", "−5 points (down)", "0 % (unchanged)": the sign and the direction in words,
 * never colour alone; null when there is nothing to compare (a null, or a relative change from 0). */
export function change(current, previous, unit, digits, kind) {
  if (current === null || previous === null) return null;
  if (kind === "relative" && previous === 0) return null;
  const [value, places] =
    kind === "relative" ? [rounded(((current - previous) / previous) * 100, 0), 0] : [rounded(unit(current) - unit(previous), digits), digits];
  const direction = value > 0 ? "up" : value < 0 ? "down" : "same";
  const sign = value > 0 ? "+" : value < 0 ? "−" : "";
  const amount = t(`dashboard.change.${kind}`, { value: `${sign}${number(Math.abs(value), places)}` });
  return t(`dashboard.change.${direction}`, { change: amount });
}

/** ``text`` with each ISO day in it kept on one line (a browser may break after its hyphens). */
function keepDays(text) {
  return text.split(/(\d{4}-\d{2}-\d{2})/).map((part, index) => (index % 2 ? h("span", { class: "day" }, part) : part));
}

/** The range's headline figures (arrivals, served, SLA, mean wait, CSAT, NPS) beside the
 * previous period's and the change: ``current`` and ``previous`` are the API's one row of each
 * period (undefined when it holds nothing), ``periods`` {from, to, previous: {from, to}}. Each
 * figure's row carries its KPI (data-kpi) and each value the API's (data-value). */
export function drawComparison(container, current, previous, periods) {
  const heads = ["dashboard.figure", "dashboard.thisPeriod", "dashboard.previousPeriod", "dashboard.change"];
  container.replaceChildren(
    h(
      "table",
      { class: "data compare" },
      h(
        "caption",
        {},
        keepDays(t("dashboard.compareCaption", { ...periods, previousFrom: periods.previous.from, previousTo: periods.previous.to })),
      ),
      h("thead", {}, h("tr", {}, heads.map((head) => h("th", { scope: "col" }, t(head))))),
      h(
        "tbody",
        {},
        HEADLINES.map(([head, kpi, none, unit, digits, kind]) => {
          const now = current?.[kpi] ?? none;
          const then = previous?.[kpi] ?? none;
          const show = (value) => (value === null ? t("dashboard.none") : number(unit(value), digits));
          return h(
            "tr",
            { "data-kpi": kpi },
            h("th", { scope: "row" }, t(head)),
            h("td", { class: "period-current", "data-value": JSON.stringify(now) }, show(now)),
            h("td", { class: "period-previous", "data-value": JSON.stringify(then) }, show(then)),
            h("td", { class: "change" }, change(now, then, unit, digits, kind) ?? t("dashboard.none")),
          );
        }),
      ),
    ),
  );
}
