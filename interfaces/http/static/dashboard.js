// The manager dashboard: sign-in (the console's client and tokens), today's queues and agents
// live over the queue and agent sockets, and any range's KPIs as charts and tables, with the KPIs
// and the visit facts as CSV and Parquet exports.
// See docs/dashboard.md.

import {
  SLUG,
  everyItem,
  onSessionEnded,
  problem,
  refresh,
  restoreTokens,
  signInWith,
  signOutNow,
  signedIn,
  tenant,
  tenantFile,
} from "./console.api.js";
import { drawAgents, drawComparison, drawHeat, drawHours, drawSla, number } from "./dashboard.charts.js";
import "./dashboard.i18n.js";
import { follow } from "./console.live.js";
import { h, setUpLanguage } from "./dom.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const SOCKET_BUDGET = 18; // under the default SMARTQUEUE_WS_MAX_PER_TOKEN (20)
const REFRESH_MS = 30_000; // longest waits grow, and agents beyond the budget change
const STATUSES = ["available", "busy", "paused", "offline"];

const state = {
  sites: [],
  queues: new Map(), // id -> {id, name, site_id, waiting, asOf, stats}
  agents: new Map(), // agent_id -> board entry (+ asOf)
  names: new Map(), // agent id -> name, for the range's agent table (every site's agents)
  sockets: new Map(), // key -> {stop, open}
  message: null,
  range: null, // {from, to, total, hours, days, agents, heat}: KPI rows (+ previous: {from, to, total, hours, agents})
};
let timer = null;
let pending = null;
let rangesAsked = 0;

// -- messages ----------------------------------------------------------------------------------

function say(kind, key = null, params = {}) {
  state.message = kind && key ? { kind, key, params } : null;
  renderMessage();
}

function renderMessage() {
  const { kind, key, params } = state.message || {};
  $("error").textContent = kind === "error" ? t(key, params) : "";
  $("info").textContent = kind === "info" ? t(key, params) : "";
}

function fail(answer) {
  const [key, params] = problem(answer);
  say("error", key, params);
}

// -- sign-in -----------------------------------------------------------------------------------

function signedOut(reason = null) {
  stopLive();
  $("dashboard").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("who").textContent = "";
  setConnection("offline");
  say(reason ? "error" : null, reason);
}

async function signIn(event) {
  event.preventDefault();
  const answer = await signInWith($("email").value.trim(), $("password").value);
  if (answer.status === 200) {
    $("password").value = "";
    await start();
  } else if (answer.status === 401 || answer.status === 400) say("error", "console.signIn.failed");
  else if (answer.status === 429) say("error", "console.signIn.tooMany", { seconds: Number.parseInt(answer.retryAfter, 10) || 1 });
  else fail(answer);
}

async function signOut() {
  await signOutNow();
  signedOut();
}

/** The browser's local day ``offset`` days from today, as YYYY-MM-DD. */
function localDay(offset) {
  const day = new Date();
  day.setDate(day.getDate() + offset);
  const pad = (value) => String(value).padStart(2, "0");
  return `${day.getFullYear()}-${pad(day.getMonth() + 1)}-${pad(day.getDate())}`;
}

const isDay = (text) => /^\d{4}-\d{2}-\d{2}$/.test(text ?? "");

/** Keep the range, site and comparison shown in the page's address (no new history entry). */
function rememberView() {
  const query = new URLSearchParams();
  for (const name of ["from", "to", "site"]) if ($(name).value) query.set(name, $(name).value);
  if ($("compare").checked) query.set("compare", "1");
  history.replaceState(history.state, "", `${location.pathname}?${query}${location.hash}`);
}

async function start() {
  // The queue statistics need stats:read (managers, admins): an agent is told so in words.
  const stats = await tenant("GET", "queues/stats/");
  if (stats.status === 403) {
    $("sign-in").hidden = false;
    $("sign-out").hidden = false;
    say("error", "dashboard.needsManager");
    return;
  }
  if (stats.status === 404) return signedOut("console.signIn.otherTenant");
  if (stats.status !== 200) return signedIn() ? fail(stats) : undefined;
  try {
    const [sites, queues, agents] = await Promise.all([everyItem("sites/"), everyItem("queues/"), everyItem("agents/")]);
    state.sites = sites;
    state.names = new Map(agents.map((agent) => [agent.id, agent.name]));
    state.queues = new Map(queues.map((queue) => [queue.id, { ...queue, asOf: -1, stats: null }]));
  } catch (answer) {
    return fail(answer);
  }
  applyStats(stats.body);
  $("sign-in").hidden = true;
  $("dashboard").hidden = false;
  $("sign-out").hidden = false;
  say(null);
  renderSites();
  // The address keeps the range, site and comparison shown (see rememberView): a reload or a
  // shared link shows them again; otherwise the last seven days, without a comparison.
  const asked = new URLSearchParams(location.search);
  if (state.sites.some((one) => one.id === asked.get("site"))) $("site").value = asked.get("site");
  $("compare").checked = asked.get("compare") === "1";
  $("from").value ||= isDay(asked.get("from")) ? asked.get("from") : localDay(-6);
  $("to").value ||= isDay(asked.get("to")) ? asked.get("to") : localDay(0);
  await goLive();
  await showRange();
}

// -- today, live -------------------------------------------------------------------------------

const site = () => $("site").value || null;
const shownQueues = () => [...state.queues.values()].filter((queue) => !site() || queue.site_id === site());

function applyStats(list) {
  for (const stats of list) {
    const queue = state.queues.get(stats.queue_id);
    if (!queue) continue;
    queue.stats = stats;
    // Until its socket's snapshot, a queue's waiting count is the statistics'; then the socket's.
    if (queue.asOf < 0) queue.waiting = stats.waiting;
  }
}

async function reloadToday() {
  const board = await tenant("GET", `agents/board/${site() ? `?site_id=${site()}` : ""}`);
  const stats = await tenant("GET", "queues/stats/");
  if (stats.status === 200) applyStats(stats.body);
  if (board.status === 200) {
    const seen = new Set();
    for (const entry of board.body) {
      seen.add(entry.agent_id);
      state.names.set(entry.agent_id, entry.name);
      const kept = state.agents.get(entry.agent_id);
      // A socket's newer message is not overwritten by a board read that raced it.
      if (!kept?.live) state.agents.set(entry.agent_id, entry);
    }
    for (const id of state.agents.keys()) if (!seen.has(id)) state.agents.delete(id);
  }
  renderToday();
  return board.status === 200;
}

/** Coalesce bursts of changes into one read of the statistics and the board. */
function reloadSoon() {
  clearTimeout(pending);
  pending = setTimeout(reloadToday, 150);
}

function stopLive() {
  clearInterval(timer);
  for (const socket of state.sockets.values()) socket.stop();
  state.sockets.clear();
}

async function goLive() {
  stopLive();
  state.agents.clear();
  for (const queue of state.queues.values()) queue.asOf = -1;
  await reloadToday();
  setConnection("connecting");
  const queues = shownQueues();
  for (const queue of queues) {
    watch(`queue:${queue.id}`, `queues/${queue.id}`, (message) => onQueueMessage(queue.id, message));
  }
  const agents = [...state.agents.keys()].slice(0, Math.max(0, SOCKET_BUDGET - queues.length));
  for (const id of agents) watch(`agent:${id}`, `agents/${id}`, (message) => onAgentMessage(id, message));
  if (!state.sockets.size) setConnection("live");
  timer = setInterval(reloadToday, REFRESH_MS);
}

function watch(key, path, onMessage) {
  const entry = { open: false, stop: null };
  state.sockets.set(key, entry);
  entry.stop = follow(path, {
    onMessage,
    onOpen: () => {
      entry.open = true;
      updateConnection();
    },
    onClosed: (code) => {
      entry.open = false;
      if (code === 4403 || code === 4404) state.sockets.delete(key);
      updateConnection();
    },
  });
}

function updateConnection() {
  const sockets = [...state.sockets.values()];
  setConnection(sockets.every((socket) => socket.open) ? "live" : "reconnecting");
}

function setConnection(mode) {
  const status = $("status");
  status.dataset.state = mode;
  status.textContent = mode === "offline" ? "" : t(`status.${mode}`);
}

function onQueueMessage(queueId, message) {
  if (!message.queue || (message.type !== "snapshot" && message.type !== "change")) return;
  const queue = state.queues.get(queueId);
  const asOf = Number(message.as_of);
  if (!queue || asOf <= queue.asOf) return;
  queue.asOf = asOf;
  if (typeof message.queue.waiting === "number") queue.waiting = message.queue.waiting;
  renderToday();
  // Longest wait, SLA and served come from the statistics, and a call changes an agent: read
  // them again on every change, and on a snapshot (a reconnection may follow missed changes).
  reloadSoon();
}

function onAgentMessage(agentId, message) {
  if (!message.agent || (message.type !== "snapshot" && message.type !== "change")) return;
  const kept = state.agents.get(agentId) || { agent_id: agentId };
  const asOf = Number(message.as_of);
  if (kept.asOf !== undefined && asOf <= kept.asOf) return;
  const agent = message.agent;
  state.agents.set(agentId, {
    ...kept,
    live: true,
    asOf,
    name: agent.name ?? kept.name,
    status: agent.status ?? kept.status,
    counter: agent.counter ?? null,
    served_today: agent.served_today ?? kept.served_today,
    ticket: agent.ticket_number ? { number: agent.ticket_number, status: agent.ticket_status } : null,
  });
  renderToday();
}

// -- rendering today ---------------------------------------------------------------------------

function duration(seconds) {
  if (seconds === null || seconds === undefined) return t("dashboard.none");
  return t("dashboard.minutes", { minutes: Math.floor(seconds / 60) });
}

function share(value) {
  if (value === null || value === undefined) return t("dashboard.none");
  return `${Math.round(value * 100)} %`;
}

function renderSites() {
  const chosen = $("site").value;
  $("site").replaceChildren(
    h("option", { value: "" }, t("dashboard.allSites")),
    ...state.sites.map((one) => h("option", { value: one.id }, one.name)),
  );
  $("site").value = chosen;
}

function renderToday() {
  const queues = shownQueues();
  $("queue-rows").replaceChildren(
    ...(queues.length
      ? queues.map((queue) =>
          h(
            "tr",
            { "data-queue-id": queue.id },
            h("th", { scope: "row" }, queue.name),
            h("td", { class: "waiting" }, queue.waiting ?? 0),
            h("td", { class: "longest" }, duration(queue.stats?.current_longest_wait_seconds)),
            h("td", { class: "sla" }, share(queue.stats?.sla_compliance)),
            h("td", { class: "served" }, queue.stats?.completed ?? 0),
          ),
        )
      : [h("tr", {}, h("td", { colspan: 5 }, t("dashboard.noQueues")))]),
  );
  const agents = [...state.agents.values()];
  const counts = Object.fromEntries(STATUSES.map((status) => [status, agents.filter((agent) => agent.status === status).length]));
  $("agent-counts").textContent = t("dashboard.counts", counts);
  $("agent-rows").replaceChildren(
    ...(agents.length
      ? agents.map((agent) =>
          h(
            "tr",
            { "data-agent-id": agent.agent_id, "data-status": agent.status },
            h("th", { scope: "row" }, agent.name || ""),
            h("td", { class: "agent-status" }, t(`dashboard.status.${agent.status}`)),
            h("td", {}, agent.counter || t("dashboard.none")),
            h("td", { class: "agent-ticket" }, agent.ticket?.number || t("dashboard.none")),
            h("td", {}, agent.served_today ?? 0),
          ),
        )
      : [h("tr", {}, h("td", { colspan: 5 }, t("dashboard.noAgents")))]),
  );
}

// -- the range ---------------------------------------------------------------------------------

/** Every KPI row of the range grouped by ``groups``, of the chosen site only if one is, and with
 * a ``previous`` period ({from, to}) every row of it too (the API's compare_items, paged with the
 * range's by the same cursor): [rows, previous rows]. */
async function kpis(from, to, groups, previous = null) {
  const rows = [];
  const earlier = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ from, to, limit: "200" });
    if (groups.length) query.set("group_by", groups.join(","));
    if (site()) query.set("site_id", site());
    if (previous) {
      query.set("compare_from", previous.from);
      query.set("compare_to", previous.to);
    }
    if (cursor) query.set("cursor", cursor);
    const answer = await tenant("GET", `analytics/kpis/?${query}`);
    if (answer.status !== 200) throw answer;
    rows.push(...answer.body.items);
    earlier.push(...(answer.body.compare_items ?? []));
    cursor = answer.body.next_cursor;
  } while (cursor);
  return [rows, earlier];
}

/** The period of as many days as ``from``..``to`` (ISO dates, both included) just before it:
 * 8–14 gives 1–7. */
function previousPeriod(from, to) {
  const day = 86_400_000;
  const first = Date.parse(`${from}T00:00:00Z`);
  const length = Date.parse(`${to}T00:00:00Z`) - first + day;
  const iso = (at) => new Date(at).toISOString().slice(0, 10);
  return { from: iso(first - length), to: iso(first - day) };
}

async function showRange(event) {
  event?.preventDefault();
  const from = $("from").value;
  const to = $("to").value;
  if (!from || !to || to < from) return say("error", "dashboard.badRange");
  rememberView();
  $("range-summary").textContent = t("dashboard.loading");
  // Only the latest request is drawn: an earlier one answering late (the first range, another
  // site) must not replace it.
  const asked = ++rangesAsked;
  // With the comparison, the parts that show it (summary, hours, agents) ask for the previous
  // period in the same query: its figures are the API's, never merged here.
  const before = $("compare").checked ? previousPeriod(from, to) : null;
  let range;
  try {
    const [[total, totalBefore], [hours, hoursBefore], [days], [agents, agentsBefore], [heat]] = await Promise.all([
      kpis(from, to, [], before),
      kpis(from, to, ["hour"], before),
      kpis(from, to, ["day"]),
      kpis(from, to, ["agent"], before),
      kpis(from, to, ["weekday", "hour"]),
    ]);
    range = { from, to, total, hours, days, agents, heat };
    if (before) range.previous = { ...before, total: totalBefore, hours: hoursBefore, agents: agentsBefore };
  } catch (answer) {
    if (asked !== rangesAsked) return;
    $("range-summary").textContent = "";
    return fail(answer);
  }
  if (asked !== rangesAsked) return;
  state.range = range;
  if (state.message?.kind === "error") say(null);
  renderRange();
}

function renderRange() {
  if (!state.range) return;
  const { from, to, total, hours, days, agents, heat, previous } = state.range;
  // Without a group the API answers one row for the range (none when it holds nothing).
  const whole = total[0] ?? {};
  const counted = whole.sla_counted || 0;
  $("range-summary").textContent = t("dashboard.rangeSummary", {
    from,
    to,
    arrivals: whole.arrivals || 0,
    served: whole.served || 0,
    sla: counted ? share(whole.sla_met / counted) : t("dashboard.none"),
    csat: number(whole.csat_mean, 2),
    csatResponses: whole.csat_responses || 0,
    nps: number(whole.nps, 0),
    npsResponses: whole.nps_responses || 0,
  });
  $("range-summary").dataset.from = from;
  $("range-summary").dataset.to = to;
  $("range-compare").hidden = !previous;
  if (previous) drawComparison($("range-compare"), whole, previous.total[0], { from, to, previous });
  else $("range-compare").replaceChildren();
  drawHours($("chart-hour"), hours, previous?.hours);
  drawSla($("chart-sla"), days, from, to);
  drawHeat($("heat"), heat);
  drawAgents($("agent-table"), agents, state.names, previous?.agents);
}

/** The exports of the range (and the chosen site): ``what`` is "kpis" (by site and day) or
 * "tickets" (the visit facts), ``format`` "csv" or "parquet". Fetched with the token and saved
 * through a Blob: a plain link could not carry the Authorization header. */
async function exportRange(event) {
  const button = event.currentTarget;
  const { export: what, format } = button.dataset;
  if (button.getAttribute("aria-busy") === "true") return;
  const from = $("from").value;
  const to = $("to").value;
  if (!from || !to || to < from) return say("error", "dashboard.badRange");
  const query = new URLSearchParams({ from, to });
  if (what === "kpis") query.set("group_by", "site,day");
  if (site()) query.set("site_id", site());
  // aria-busy rather than disabled: a disabled button would lose the keyboard's focus.
  button.setAttribute("aria-busy", "true");
  const answer = await tenantFile(`analytics/${what}/export.${format}?${query}`);
  button.removeAttribute("aria-busy");
  if (answer.status !== 200) return fail(answer);
  const file = `${what}-${SLUG}-${from}-${to}.${format}`;
  const url = URL.createObjectURL(answer.blob);
  const link = h("a", { href: url, download: file, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  say("info", "dashboard.exported", { file });
}

// -- start -------------------------------------------------------------------------------------

function boot() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("filters").addEventListener("submit", showRange);
  for (const button of $("exports").querySelectorAll("button[data-export]")) button.addEventListener("click", exportRange);
  $("site").addEventListener("change", async () => {
    await goLive();
    await showRange();
  });
  $("compare").addEventListener("change", () => showRange());
  setUpLanguage(() => {
    renderMessage();
    setConnection($("status").dataset.state);
    if (state.sites.length) {
      renderSites();
      renderToday();
      renderRange();
    }
  });
  // The charts are drawn at their box's width: draw them again when the window changes.
  let resized = null;
  window.addEventListener("resize", () => {
    clearTimeout(resized);
    resized = setTimeout(renderRange, 250);
  });
  onSessionEnded(signedOut);
  const kept = restoreTokens();
  if (kept === "valid") start();
  else if (kept === "refresh") refresh().then((ok) => (ok ? start() : signedOut()));
  else signedOut();
}

boot();
