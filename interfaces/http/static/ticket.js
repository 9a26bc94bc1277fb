// "My ticket": the customer's own ticket, reached by its capability token: number, position,
// ETA, the counter when called; "I need more time" and "Cancel". Changes come over the live
// socket (WS /ws/public/tickets/{token}/); while it is not flowing (no heartbeat lately), the
// page polls the public API every few seconds instead.

import { setUpLanguage } from "./dom.js";
import { t } from "./i18n.js";
import { call, problemKey } from "./public.js";

const POLL_SECONDS = 3;
const LIVE_POLL_SECONDS = 30; // while the socket proves changes flow, a slow safety poll
const FLOWING_SECONDS = 12; // a heartbeat or change this recent means the socket is live
const FINISHED = ["completed", "cancelled", "no_show"];
const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.pathname.split("/")[2] || "");
const state = { ticket: null, errorKey: null, noticeKey: null, noticeParams: {}, invalid: false, busy: false, at: null };

function etaText(seconds) {
  if (seconds === null || seconds === undefined) return "";
  if (seconds < 60) return t("kiosk.etaSoon");
  return t("kiosk.eta", { minutes: Math.round(seconds / 60) });
}

function callText(ticket) {
  if (ticket.status === "called")
    return ticket.counter ? t("ticket.called", { counter: ticket.counter }) : t("ticket.calledNoCounter");
  if (ticket.status === "serving") return t("ticket.serving", { counter: ticket.counter ?? "–" });
  if (ticket.status === "paused") return t("ticket.paused");
  if (ticket.status === "completed") return t("ticket.done");
  if (ticket.status === "cancelled") return t("ticket.cancelled");
  if (ticket.status === "no_show") return t("ticket.noShow");
  return "";
}

function render() {
  document.title = `${t("ticket.title")} · SmartQueue`;
  const error = state.invalid ? "ticket.invalid" : state.errorKey ?? state.noticeKey;
  $("error").textContent = error ? t(error, state.noticeParams) : "";
  const ticket = state.ticket;
  $("ticket").hidden = !ticket || state.invalid;
  if (!ticket || state.invalid) return;
  const waiting = ticket.status === "waiting";
  $("ticket-number").textContent = ticket.number;
  $("ticket-queue").textContent = t("ticket.queue", { queue: ticket.queue_name });
  $("ticket-position").textContent = waiting
    ? ticket.position === 1
      ? t("ticket.positionFirst")
      : t("ticket.position", { position: ticket.position ?? "–" })
    : "";
  $("ticket-eta").textContent = waiting ? etaText(ticket.eta_seconds) : "";
  $("ticket-call").textContent = callText(ticket);
  $("ticket-waiting").textContent = waiting ? t("ticket.waitingCount", { count: ticket.waiting }) : "";
  const moreTime = $("more-time");
  moreTime.hidden = !waiting;
  moreTime.disabled = state.busy || ticket.more_time_used;
  $("more-time-help").textContent = waiting
    ? ticket.more_time_used
      ? t("ticket.moreTimeUsed")
      : t("ticket.moreTimeHelp", { places: ticket.more_time_places })
    : "";
  const cancel = $("cancel");
  cancel.hidden = !waiting;
  cancel.disabled = state.busy;
  $("updated").textContent = state.at ? t("ticket.updated", { time: state.at.toLocaleTimeString() }) : "";
}

function take(answer) {
  if (answer.status === 200) {
    state.ticket = answer.body;
    state.errorKey = null;
    state.at = new Date();
  } else if (answer.status === 404) {
    state.invalid = true;
  } else {
    state.errorKey = problemKey(answer);
  }
}

const live = { socket: null, heardAt: 0, retry: 1 };
const finished = () => state.invalid || FINISHED.includes(state.ticket?.status);
const flowing = () => Date.now() - live.heardAt < FLOWING_SECONDS * 1000;

function connect() {
  if (finished() || !("WebSocket" in window)) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(`${scheme}//${location.host}/ws/public/tickets/${encodeURIComponent(token)}/`);
  live.socket = socket;
  socket.onmessage = (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "heartbeat") live.heardAt = Date.now();
    if (message.type === "change") live.heardAt = Date.now();
    if ((message.type === "snapshot" || message.type === "change") && !state.busy) {
      take({ status: 200, body: message.ticket });
      render();
    }
    live.retry = 1;
  };
  socket.onclose = (event) => {
    live.socket = null;
    live.heardAt = 0;
    if (event.code === 4404) {
      state.invalid = true;
      render();
      return;
    }
    live.retry = Math.min(live.retry * 2, 30);
    if (!finished()) setTimeout(connect, live.retry * 1000);
  };
}

async function poll() {
  if (!state.invalid && !state.busy) {
    take(await call("GET", `tickets/${encodeURIComponent(token)}/`));
    render();
  }
  if (finished()) {
    live.socket?.close();
    return;
  }
  setTimeout(poll, (flowing() ? LIVE_POLL_SECONDS : POLL_SECONDS) * 1000);
}

async function act(action) {
  if (state.busy) return;
  state.busy = true;
  state.noticeKey = null;
  render();
  const answer = await call("POST", `tickets/${encodeURIComponent(token)}/${action}/`);
  state.busy = false;
  take(answer);
  if (answer.status === 200 && action === "more-time") {
    state.noticeKey = "ticket.movedBack";
    state.noticeParams = { position: answer.body.position ?? "–" };
  }
  render();
}

$("more-time").addEventListener("click", () => act("more-time"));
$("cancel").addEventListener("click", () => act("cancel"));
setUpLanguage(render);
poll();
connect();
