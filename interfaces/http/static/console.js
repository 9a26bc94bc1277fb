// The agent console: sign in, seat at a counter, choose queues, set a status, and run tickets
// (call next, recall, start, pause/resume, transfer, no-show, close) with buttons or keys, with
// the current ticket and the queues' lengths live over the agent WebSocket.

import {
  command,
  everyItem,
  forgetTokens,
  onSessionEnded,
  problem,
  refresh,
  restoreTokens,
  signInWith,
  signOutNow,
  signedIn,
  tenant,
} from "./console.api.js";
import "./console.i18n.js";
import { follow } from "./console.live.js";
import { h, setUpLanguage, sleep } from "./dom.js";
import { clock, language, t } from "./i18n.js";

const KEYS = { n: "call", r: "recall", s: "start", p: "pause", t: "transfer", x: "no-show", c: "close" };
// Which action fits which ticket status (the server still decides: a refusal is shown in words).
const ALLOWED = {
  none: ["call"],
  called: ["recall", "start", "transfer", "no-show"],
  serving: ["pause", "transfer", "close"],
  paused: ["pause", "transfer", "close"],
};
const ENDPOINTS = {
  recall: ["recall", "console.info.recalled"],
  start: ["start", "console.info.started"],
  "no-show": ["mark_no_show", "console.info.noShow"],
  close: ["close", "console.info.closed"],
};

const $ = (id) => document.getElementById(id);
/** Set a text only when it changes, so live regions announce changes, not every re-render. */
function text(element, value) {
  if (element.textContent !== value) element.textContent = value;
}
const state = {
  agent: null, // {id, name, status, counter, queue_ids, ticket_id, ticket_number, ticket_status}
  agentAsOf: -1,
  queues: new Map(), // id -> {id, name, status, waiting, next, asOf}
  services: new Map(), // id -> name
  ticket: null, // the current ticket as the API shows it (TicketView)
  busy: false,
  stopLive: null, // closes the agent socket for good
  message: null, // the last error or info: {kind, key, params}, re-translated on a language switch
};

// -- messages ----------------------------------------------------------------------------------

function say(kind, key, params = {}) {
  state.message = key ? { kind, key, params } : null;
  renderMessage();
}

function renderMessage() {
  const { kind, key, params } = state.message || {};
  $("error").textContent = kind === "error" ? t(key, params) : "";
  $("info").textContent = kind === "info" ? t(key, params) : "";
}

const fail = (answer, options) => say("error", ...problem(answer, options));

// -- signing in and out ------------------------------------------------------------------------

function signedOut(reason = null) {
  forgetTokens();
  state.stopLive?.();
  state.stopLive = null;
  state.agent = null;
  state.agentAsOf = -1;
  state.queues.clear();
  state.ticket = null;
  $("console").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("who").textContent = "";
  setConnection("offline");
  say(reason ? "error" : null, reason);
  $("email").focus();
}

async function signIn(event) {
  event.preventDefault();
  const email = $("email").value.trim();
  const password = $("password").value;
  const answer = await signInWith(email, password);
  if (answer.status === 200) {
    $("password").value = "";
    await start();
  } else if (answer.status === 401 || answer.status === 400) say("error", "console.signIn.failed");
  else if (answer.status === 429) {
    say("error", "console.signIn.tooMany", { seconds: Number.parseInt(answer.retryAfter, 10) || 1 });
  } else fail(answer);
}

async function signOut() {
  await signOutNow();
  signedOut();
}

/** Load who I am, the tenant's queues and services, then go live. */
async function start() {
  const me = await tenant("GET", "agents/me/");
  if (me.status === 404) {
    signedOut("console.signIn.otherTenant");
    return;
  }
  if (me.status !== 200) {
    if (signedIn()) fail(me);
    return;
  }
  state.agent = liveAgent(me.body);
  let queues, services;
  try {
    [queues, services] = await Promise.all([everyItem("queues/"), everyItem("queues/services/")]);
  } catch (answer) {
    if (signedIn()) fail(answer);
    return;
  }
  for (const queue of queues) {
    state.queues.set(queue.id, { ...queue, next: [], asOf: -1, ...state.queues.get(queue.id) });
  }
  for (const service of services) state.services.set(service.id, service.name);
  if (me.body.current_ticket_id) await loadTicket(me.body.current_ticket_id);
  $("sign-in").hidden = true;
  $("console").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = me.body.name;
  $("counter").value = me.body.counter || "";
  say(null);
  render();
  connect();
  $("act-call").focus();
}

/** An agent as the REST API or the socket shows it, in the socket's shape. */
function liveAgent(agent) {
  return {
    id: agent.id,
    name: agent.name,
    status: agent.status,
    counter: agent.counter,
    queue_ids: agent.queue_ids,
    ticket_id: agent.ticket_id ?? agent.current_ticket_id ?? null,
    ticket_number: agent.ticket_number ?? null,
    ticket_status: agent.ticket_status ?? null,
  };
}

async function loadTicket(ticketId) {
  // The tickets read model may trail the command that gave the agent this ticket by a moment.
  for (let attempt = 0; attempt < 10; attempt += 1) {
    const answer = await tenant("GET", `tickets/${ticketId}/`);
    if (answer.status === 200) {
      if (state.agent?.ticket_id === ticketId) state.ticket = answer.body;
      return;
    }
    if (answer.status !== 404) return;
    await sleep(300);
  }
}

// -- live updates ------------------------------------------------------------------------------

function setConnection(mode) {
  const status = $("status");
  status.dataset.state = mode;
  const keys = { connecting: "status.connecting", live: "status.live", reconnecting: "status.reconnecting" };
  status.textContent = keys[mode] ? t(keys[mode]) : "";
}

/** Follow my agent socket; any earlier one is dropped. */
function connect() {
  state.stopLive?.();
  setConnection("connecting");
  state.stopLive = follow(`agents/${state.agent.id}`, {
    onMessage(message) {
      if (message.type === "snapshot") setConnection("live");
      applyLive(message);
    },
    onClosed(code) {
      if (code === 4403 || code === 4404) {
        setConnection("offline");
        say("error", "console.error.socketRefused");
      } else setConnection("reconnecting");
    },
  });
}

/** Keep, per item (me, each queue), the data with the highest ``as_of``. */
function applyLive(message) {
  if (message.type !== "snapshot" && message.type !== "change") return;
  const asOf = message.as_of ?? 0;
  if (message.agent && asOf > state.agentAsOf) {
    state.agentAsOf = asOf;
    adoptAgent(liveAgent(message.agent));
  }
  const summaries = message.queues || (message.queue ? [message.queue] : []);
  for (const summary of summaries) {
    const known = state.queues.get(summary.id) || { id: summary.id, name: "", asOf: -1 };
    if (asOf > known.asOf) state.queues.set(summary.id, { ...known, ...summary, asOf });
  }
  const ticket = message.ticket;
  if (ticket && state.ticket && ticket.id === state.ticket.id) {
    state.ticket = { ...state.ticket, status: ticket.status, queue_id: ticket.queue_id, counter: ticket.counter };
  }
  render();
}

/** The agent as now known; fetch the ticket's details when the agent holds a new one. */
function adoptAgent(agent) {
  const previous = state.agent;
  state.agent = agent;
  if (!agent.ticket_id) state.ticket = null;
  else if (state.ticket?.id !== agent.ticket_id) {
    state.ticket = null;
    loadTicket(agent.ticket_id).then(render);
  } else if (agent.ticket_status) state.ticket = { ...state.ticket, status: agent.ticket_status };
  if (previous && previous.counter !== agent.counter && document.activeElement !== $("counter")) {
    $("counter").value = agent.counter || "";
  }
}

// -- actions -----------------------------------------------------------------------------------

function ticketStatus() {
  return state.ticket?.status || state.agent?.ticket_status || (state.agent?.ticket_id ? "called" : "none");
}

function allowed(action) {
  return (ALLOWED[ticketStatus()] || []).includes(action);
}

/** One command at a time: a second key press while one is on its way does nothing. */
async function run(action) {
  if (state.busy || !state.agent || !allowed(action)) return;
  if (action === "transfer") {
    openTransfer();
    return;
  }
  state.busy = true;
  try {
    if (action === "call") await callNext();
    else if (action === "pause") await lifecycle(ticketStatus() === "paused" ? "resume" : "pause");
    else await lifecycle(action);
  } finally {
    state.busy = false;
    render();
  }
}

async function callNext() {
  const queueId = $("call-from").value;
  const answer = await command("POST", "agents/call-next/", queueId ? { queue_id: queueId } : {});
  if (answer.status === 200) {
    holdTicket(answer.body);
    say("info", "console.info.called", { number: answer.body.number });
  } else fail(answer);
}

/** The ticket I hold: its details may still be on their way when the socket already said so. */
function heldTicketId() {
  return state.ticket?.id || state.agent?.ticket_id || null;
}

async function lifecycle(action) {
  const ticketId = heldTicketId();
  if (!ticketId) return;
  const [endpoint, done] = ENDPOINTS[action] || [action, `console.info.${action}d`];
  const answer = await command("POST", `tickets/${ticketId}/${endpoint}/`);
  if (answer.status === 200) {
    const finished = ["completed", "no_show", "cancelled"].includes(answer.body.status);
    if (finished) releaseTicket();
    else holdTicket(answer.body);
    say("info", done, { number: answer.body.number });
  } else fail(answer);
}

function holdTicket(ticket) {
  state.ticket = ticket;
  if (state.agent) {
    state.agent = { ...state.agent, ticket_id: ticket.id, ticket_number: ticket.number, ticket_status: ticket.status };
  }
}

function releaseTicket() {
  state.ticket = null;
  if (state.agent) state.agent = { ...state.agent, ticket_id: null, ticket_number: null, ticket_status: null };
}

function openTransfer() {
  const select = $("transfer-queue");
  const current = state.ticket?.queue_id;
  const targets = [...state.queues.values()].filter((queue) => queue.id !== current && queue.name);
  select.replaceChildren(...targets.map((queue) => h("option", { value: queue.id }, queue.name)));
  if (!targets.length) {
    say("error", "console.transfer.noTarget");
    return;
  }
  $("transfer").hidden = false;
  $("act-transfer").setAttribute("aria-expanded", "true");
  select.focus();
}

function closeTransfer() {
  $("transfer").hidden = true;
  $("act-transfer").setAttribute("aria-expanded", "false");
}

async function transfer(event) {
  event.preventDefault();
  const ticketId = heldTicketId();
  const queueId = $("transfer-queue").value;
  if (!ticketId || !queueId || state.busy) return;
  state.busy = true;
  try {
    const placement = $("transfer-placement").value;
    const answer = await command("POST", `tickets/${ticketId}/transfer/`, { queue_id: queueId, placement });
    if (answer.status === 200) {
      releaseTicket();
      closeTransfer();
      const queue = state.queues.get(queueId)?.name || "";
      say("info", "console.info.transferred", { number: answer.body.number, queue });
      $("act-call").focus();
    } else fail(answer);
  } finally {
    state.busy = false;
    render();
  }
}

async function setStatus(status) {
  const answer = await command("POST", "agents/set-status/", { status });
  if (answer.status === 200) {
    state.agent = { ...state.agent, status: answer.body.status, counter: answer.body.counter };
    say("info", "console.info.status", { status: t(`console.agentStatus.${answer.body.status}`) });
  } else fail(answer);
  render();
}

async function setCounter(event) {
  event.preventDefault();
  const counter = $("counter").value.trim();
  if (!counter || !state.agent) return;
  // The agent's own status stays as it is; only the counter changes.
  const answer = await command("POST", "agents/set-status/", { status: state.agent.status, counter });
  if (answer.status === 200) {
    state.agent = { ...state.agent, status: answer.body.status, counter: answer.body.counter };
    say("info", "console.me.counterSaved", { counter: answer.body.counter });
  } else fail(answer);
  render();
}

async function saveQueues(event) {
  event.preventDefault();
  const queueIds = [...document.querySelectorAll("#choose-list input:checked")].map((box) => box.value);
  const answer = await tenant("PUT", "agents/me/queues/", { queue_ids: queueIds });
  if (answer.status === 200) {
    // The socket closes (4409) and comes back following the new queues; until then, show the
    // lengths the list of queues gave.
    state.agent = { ...state.agent, queue_ids: answer.body.queue_ids };
    say("info", "console.choose.saved");
  } else fail(answer, { queues: true });
  render();
}

// -- keyboard ----------------------------------------------------------------------------------

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || /^(INPUT|SELECT|TEXTAREA)$/.test(target.tagName));
}

function onKey(event) {
  if (event.key === "Escape" && !$("transfer").hidden) {
    closeTransfer();
    $("act-transfer").focus();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey || event.repeat || typing(event.target)) return;
  if ($("console").hidden) return;
  const action = KEYS[event.key.toLowerCase()];
  if (!action) return;
  event.preventDefault();
  run(action);
}

// -- rendering ---------------------------------------------------------------------------------

function minutesBetween(fromIso, toIso) {
  return Math.floor((new Date(toIso) - new Date(fromIso)) / 60_000);
}

function renderTicket() {
  const ticket = state.ticket;
  const number = ticket?.number || state.agent?.ticket_number;
  $("ticket-none").hidden = Boolean(number);
  $("ticket-card").hidden = !number;
  if (!number) return;
  const status = ticketStatus();
  text($("ticket-number"), number);
  text($("ticket-status"), t(`console.ticket.status.${status}`));
  $("ticket-status").dataset.status = status;
  const service = ticket && state.services.get(ticket.service_id);
  text($("ticket-service"), service ? t("console.ticket.service", { service }) : "");
  const queue = ticket && state.queues.get(ticket.queue_id)?.name;
  text($("ticket-queue"), queue ? t("console.ticket.queue", { queue }) : "");
  let waited = "";
  if (ticket?.issued_at) {
    const minutes = minutesBetween(ticket.issued_at, ticket.called_at || new Date().toISOString());
    waited = minutes < 1 ? t("console.ticket.waitedShort") : t("console.ticket.waited", { minutes });
  }
  text($("ticket-waited"), waited);
  text($("ticket-called"), ticket?.called_at ? t("console.ticket.calledAt", { time: clock(ticket.called_at) }) : "");
}

function renderActions() {
  if (!heldTicketId() && !$("transfer").hidden) closeTransfer();
  for (const button of document.querySelectorAll("[data-action]")) {
    button.disabled = state.busy || !allowed(button.dataset.action);
  }
  const label = $("pause-label");
  label.dataset.i18n = ticketStatus() === "paused" ? "console.action.resume" : "console.action.pause";
  label.textContent = t(label.dataset.i18n);
  const select = $("call-from");
  const mine = (state.agent?.queue_ids || []).map((id) => state.queues.get(id)).filter(Boolean);
  // Rebuilt only when its options change: a live message must not close an open list.
  const signature = JSON.stringify([language(), mine.map((queue) => [queue.id, queue.name])]);
  if (select.dataset.signature === signature) return;
  select.dataset.signature = signature;
  const chosen = select.value;
  select.replaceChildren(
    h("option", { value: "" }, t("console.queues.allMine")),
    ...mine.map((queue) => h("option", { value: queue.id }, queue.name || queue.id)),
  );
  select.value = mine.some((queue) => queue.id === chosen) ? chosen : "";
}

function renderQueues() {
  const mine = state.agent?.queue_ids || [];
  $("queues-none").hidden = mine.length > 0;
  $("queues").replaceChildren(
    ...mine.map((id) => {
      const queue = state.queues.get(id) || { id, name: id, waiting: 0, next: [] };
      const next = queue.next?.length ? t("console.queues.next", { numbers: queue.next.join(", ") }) : t("console.queues.nextNone");
      return h(
        "li",
        { class: "queue", "data-queue-id": id },
        h("span", { class: "name" }, queue.name),
        h("span", { class: "waiting" }, t("console.queues.waiting", { count: queue.waiting ?? 0 })),
        h("span", { class: "next" }, next),
      );
    }),
  );
  const list = $("choose-list");
  const all = [...state.queues.values()].filter((queue) => queue.name).sort((a, b) => a.name.localeCompare(b.name));
  // Rebuilt only when the queues, their states or my queues change, not on every count.
  const signature = JSON.stringify([language(), mine, all.map((queue) => [queue.id, queue.name, queue.status])]);
  if (list.dataset.signature === signature) return;
  list.dataset.signature = signature;
  const focused = document.activeElement?.closest?.("#choose-list") ? document.activeElement.value : null;
  const checked = new Set(mine);
  if (list.dataset.dirty === "true") {
    for (const box of list.querySelectorAll("input:checked")) checked.add(box.value);
    for (const box of list.querySelectorAll("input:not(:checked)")) checked.delete(box.value);
  }
  list.replaceChildren(
    ...all.map((queue) => {
      const id = `choose-${queue.id}`;
      const note = queue.status === "paused" ? ` ${t("console.choose.paused")}` : queue.status === "closed" ? ` ${t("console.choose.closed")}` : "";
      return h(
        "li",
        {},
        h("input", { type: "checkbox", id, value: queue.id, checked: checked.has(queue.id), onchange: () => (list.dataset.dirty = "true") }),
        h("label", { for: id }, queue.name + note),
      );
    }),
  );
  if (focused) document.getElementById(`choose-${focused}`)?.focus();
}

function renderMe() {
  const status = state.agent?.status;
  $("agent-status").textContent = status ? t(`console.agentStatus.${status}`) : "";
  for (const button of document.querySelectorAll("[data-status]")) {
    button.setAttribute("aria-pressed", String(button.dataset.status === status));
  }
}

function render() {
  if (!state.agent) return;
  renderTicket();
  renderActions();
  renderQueues();
  renderMe();
}

// -- start -------------------------------------------------------------------------------------

function wire() {
  $("sign-in-form").addEventListener("submit", signIn);
  $("sign-out").addEventListener("click", signOut);
  $("transfer").addEventListener("submit", transfer);
  $("transfer-cancel").addEventListener("click", () => {
    closeTransfer();
    $("act-transfer").focus();
  });
  $("counter-form").addEventListener("submit", setCounter);
  $("choose-form").addEventListener("submit", (event) => {
    $("choose-list").dataset.dirty = "false";
    saveQueues(event);
  });
  for (const button of document.querySelectorAll("[data-action]")) {
    button.addEventListener("click", () => run(button.dataset.action));
  }
  for (const button of document.querySelectorAll("[data-status]")) {
    button.addEventListener("click", () => setStatus(button.dataset.status));
  }
  document.addEventListener("keydown", onKey);
}

function boot() {
  wire();
  setUpLanguage(() => {
    renderMessage();
    setConnection($("status").dataset.state);
    render();
  });
  onSessionEnded(signedOut);
  const kept = restoreTokens();
  if (kept === "valid") start();
  else if (kept === "refresh") refresh().then((ok) => (ok ? start() : signedOut()));
  else signedOut();
}

boot();
