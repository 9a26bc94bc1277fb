// The hall display: one WebSocket per queue of the site (snapshot, then changes), merged by
// as_of; polling GET queues/ and GET tickets/ while a queue has no live socket, so the screen is
// never blank and keeps its last known state while it reconnects. With ?counter=<name> it is a
// counter display: only the ticket called to, or served at, that counter, very large.

import { DeviceClient, NetworkError, showSetup, startDevice } from "./device.js";
import { h, setUpLanguage, slugFromPath, sleep } from "./dom.js";
import { language, t } from "./i18n.js";

const NOW_SERVING = 6;
const LAST_CALLS = 8;
const FRESH_SECONDS = 10;
const POLL_SECONDS = 5;
const LIST_SECONDS = 30;
const BACKOFF_FIRST = 500;
const BACKOFF_MAX = 5000;
const NOT_AVAILABLE_RETRY = 30000;
// The display gateway beats every 5 s on every socket; a socket silent for three beats means
// changes have stopped flowing: close it, so the display reconnects (a fresh snapshot) and
// polls meanwhile, instead of showing "Live" over a frozen state.
const SILENCE_MS = 15000;
const POLLED = -1; // as_of of data read over HTTP: any socket message is newer

const slug = slugFromPath();
const counterOnly = new URLSearchParams(location.search).get("counter")?.trim() || null;
const client = new DeviceClient("display", slug);
const $ = (id) => document.getElementById(id);
const queues = new Map(); // id -> {id, name, status, waiting, next, asOf, primed}
const tickets = new Map(); // id -> {ticket, asOf}
const feeds = new Map(); // queue id -> {id, socket, live, everLive, backoff, timer, stopped}
const announced = new Set(); // "<ticket id>@<called_at>"
const fresh = new Map(); // ticket id -> time until which it is highlighted
let reachable = true;
let listed = false; // the site's queues were read at least once

// -- state ------------------------------------------------------------------------------------

function applyQueue(summary, asOf) {
  const known = queues.get(summary.id);
  if (known && known.asOf > asOf) return;
  queues.set(summary.id, { next: [], waiting: 0, ...known, ...summary, asOf });
}

function applyTicket(ticket, asOf, fromQueue, event = null) {
  const known = tickets.get(ticket.id);
  if (known && known.asOf > asOf) return;
  if (ticket.queue_id !== fromQueue) {
    // Transferred away from this queue: it leaves this queue's view (its new queue reports it).
    if (known && known.ticket.queue_id === fromQueue) tickets.delete(ticket.id);
    return;
  }
  tickets.set(ticket.id, { ticket, asOf });
  noticeCall(ticket, fromQueue, event === "Ticket.Recalled");
}

function noticeCall(ticket, queueId, recalled) {
  if (ticket.status !== "called" || !ticket.called_at) return;
  const key = `${ticket.id}@${ticket.called_at}`;
  if (announced.has(key) && !recalled) return;
  announced.add(key);
  // The first state of a queue is not news; what changes after it is.
  if (!queues.get(queueId)?.primed) return;
  if (counterOnly && ticket.counter !== counterOnly) return; // another counter's call
  fresh.set(ticket.id, Date.now() + FRESH_SECONDS * 1000);
  const counter = ticket.counter;
  const announcer = $("announcer");
  if (!announcer) return;
  announcer.textContent = "";
  announcer.textContent = counter
    ? t("display.announce", { number: ticket.number, counter })
    : t("display.announceNoCounter", { number: ticket.number });
  setTimeout(render, FRESH_SECONDS * 1000 + 50);
}

function prime(queueId) {
  const queue = queues.get(queueId);
  if (queue) queue.primed = true;
}

function applySnapshot(queueId, message) {
  applyQueue(message.queue, message.as_of);
  const inSnapshot = new Set(message.tickets.map((ticket) => ticket.id));
  for (const [id, known] of tickets) {
    if (known.ticket.queue_id === queueId && !inSnapshot.has(id) && known.asOf <= message.as_of) {
      tickets.delete(id);
    }
  }
  for (const ticket of message.tickets) applyTicket(ticket, message.as_of, queueId);
  prime(queueId);
}

function applyChange(queueId, message) {
  if (message.queue) applyQueue({ ...message.queue, id: message.queue.id ?? queueId }, message.as_of);
  if (message.ticket) applyTicket(message.ticket, message.as_of, queueId, message.event);
}

// -- sockets ----------------------------------------------------------------------------------

function feedFor(queueId) {
  let feed = feeds.get(queueId);
  if (!feed) {
    feed = { id: queueId, socket: null, live: false, everLive: false, backoff: BACKOFF_FIRST };
    feeds.set(queueId, feed);
    connect(feed);
  }
  return feed;
}

function retry(feed, delay = null) {
  if (feed.stopped) return;
  clearTimeout(feed.timer);
  feed.timer = setTimeout(() => connect(feed), delay ?? feed.backoff);
  feed.backoff = Math.min(feed.backoff * 2, BACKOFF_MAX);
}

async function connect(feed) {
  if (feed.stopped) return;
  let answer;
  try {
    answer = await client.request("POST", "ws-tickets/");
  } catch {
    return retry(feed);
  }
  if (answer.status !== 201) return retry(feed, answer.status < 500 ? NOT_AVAILABLE_RETRY : null);
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const path = `/ws/tenants/${encodeURIComponent(slug)}/queues/${feed.id}/`;
  const socket = new WebSocket(`${scheme}//${location.host}${path}?ticket=${encodeURIComponent(answer.data.ticket)}`);
  feed.socket = socket;
  feed.heardAt = Date.now();
  socket.addEventListener("message", (event) => {
    feed.heardAt = Date.now();
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    if (message.type === "snapshot") {
      applySnapshot(feed.id, message);
      feed.live = feed.everLive = true;
      feed.backoff = BACKOFF_FIRST;
    } else if (message.type === "change") {
      applyChange(feed.id, message);
    }
    render();
  });
  socket.addEventListener("close", (event) => {
    if (feed.socket !== socket) return;
    feed.socket = null;
    feed.live = false;
    render();
    if (event.code === 4404) return forgetQueue(feed.id); // the queue is gone
    if (event.code === 4403) return retry(feed, NOT_AVAILABLE_RETRY);
    if (event.code === 4401) client.token = null; // sign in again before the next ticket
    retry(feed);
  });
}

function forgetQueue(queueId) {
  const feed = feeds.get(queueId);
  if (feed) {
    feed.stopped = true;
    clearTimeout(feed.timer);
    feed.socket?.close();
    feeds.delete(queueId);
  }
  queues.delete(queueId);
  for (const [id, known] of tickets) if (known.ticket.queue_id === queueId) tickets.delete(id);
  render();
}

// -- polling ----------------------------------------------------------------------------------

async function pollQueues() {
  const { status, items } = await client.list("queues/");
  if (status === 404) return showSetup(client, "setup.unknownTenant");
  if (!items) return;
  listed = true;
  const ids = new Set(items.map((queue) => queue.id));
  for (const id of [...queues.keys()]) if (!ids.has(id)) forgetQueue(id);
  for (const queue of items) {
    const live = feeds.get(queue.id)?.live;
    const known = queues.get(queue.id);
    const summary = { id: queue.id, name: queue.name, status: queue.status };
    if (!live) Object.assign(summary, { waiting: queue.waiting, next: [] }); // next: sockets only
    queues.set(queue.id, { next: [], primed: false, ...known, ...summary, asOf: known?.asOf ?? POLLED });
    feedFor(queue.id);
  }
}

async function pollTickets() {
  const quiet = [...queues.keys()].filter((id) => !feeds.get(id)?.live);
  if (!quiet.length) return;
  const response = await client.request("GET", "tickets/?status=called,serving&limit=200");
  if (response.status !== 200) return;
  const calledNow = new Set(response.data.items.map((ticket) => ticket.id));
  for (const queueId of quiet) {
    for (const known of tickets.values()) {
      const { ticket } = known;
      if (ticket.queue_id === queueId && !calledNow.has(ticket.id) && isServing(ticket)) {
        known.ticket = { ...ticket, status: "completed" }; // no longer called; details unknown
      }
    }
    for (const ticket of response.data.items) {
      if (ticket.queue_id === queueId) applyTicket(ticket, tickets.get(ticket.id)?.asOf ?? POLLED, queueId);
    }
    prime(queueId);
  }
}

function closeSilentSockets() {
  for (const feed of feeds.values()) {
    if (feed.live && feed.socket && Date.now() - feed.heardAt > SILENCE_MS) feed.socket.close(4000, "silent");
  }
}

async function poll() {
  let last = 0;
  for (;;) {
    const allLive = feeds.size > 0 && [...feeds.values()].every((feed) => feed.live);
    if (!allLive || Date.now() - last > LIST_SECONDS * 1000) {
      try {
        await pollQueues();
        await pollTickets();
        reachable = true;
        last = Date.now();
      } catch (error) {
        if (!(error instanceof NetworkError)) console.error(error);
        reachable = false;
      }
      render();
    }
    await sleep(POLL_SECONDS * 1000);
  }
}

// -- rendering --------------------------------------------------------------------------------

const isServing = (ticket) => ticket.status === "called" || ticket.status === "serving";
const newestCallFirst = (a, b) => Date.parse(b.called_at) - Date.parse(a.called_at);

function render() {
  const title = counterOnly ? t("display.counter", { counter: counterOnly }) : t("display.title");
  document.title = `${title} · SmartQueue`;
  if (!$("now-list")) return; // the set-up form replaced the page
  const all = [...tickets.values()].map((known) => known.ticket).filter((ticket) => ticket.called_at);
  all.sort(newestCallFirst);
  const serving = counterOnly
    ? all.filter((ticket) => isServing(ticket) && ticket.counter === counterOnly).slice(0, 1)
    : all.filter(isServing).slice(0, NOW_SERVING);
  const now = Date.now();
  $("now-list").replaceChildren(
    ...serving.map((ticket, index) =>
      h(
        "li",
        {
          class: ["now-item", index === 0 ? "latest" : "", (fresh.get(ticket.id) ?? 0) > now ? "fresh" : ""].join(" ").trim(),
          "data-ticket-id": ticket.id,
        },
        h("span", { class: "number" }, ticket.number),
        h("span", { class: "counter" }, ticket.counter ? t("display.counter", { counter: ticket.counter }) : ""),
        h("span", { class: "queue-name" }, queues.get(ticket.queue_id)?.name ?? ""),
      ),
    ),
  );
  $("now-empty").hidden = serving.length > 0;
  if (counterOnly) {
    $("now-title").textContent = title;
    $("now-empty").textContent = t("display.counterIdle");
    return renderStatus(); // a counter display shows neither the last calls nor the queues
  }
  const calls = all.slice(0, LAST_CALLS);
  $("calls-list").replaceChildren(
    ...calls.map((ticket) =>
      h(
        "li",
        { class: "call", "data-ticket-id": ticket.id },
        h("span", { class: "number" }, ticket.number),
        h("span", { class: "counter" }, ticket.counter ? t("display.counter", { counter: ticket.counter }) : ""),
        h("time", { datetime: ticket.called_at }, clock(new Date(ticket.called_at))),
      ),
    ),
  );
  $("calls-empty").hidden = calls.length > 0;
  const ordered = [...queues.values()].sort((a, b) => a.name.localeCompare(b.name));
  $("queues-list").replaceChildren(...ordered.map(renderQueue));
  $("queues-empty").hidden = !listed || queues.size > 0;
  renderStatus();
}

function renderQueue(queue) {
  const badge = queue.status && queue.status !== "open" ? h("span", { class: "badge" }, t(`queue.${queue.status}`)) : null;
  return h(
    "li",
    { class: "queue", "data-queue-id": queue.id },
    h("span", { class: "queue-name" }, queue.name, badge),
    h("span", { class: "waiting", "data-waiting": queue.waiting }, t("display.waitingCount", { count: queue.waiting ?? 0 })),
    queue.next?.length ? h("span", { class: "next" }, t("display.next", { numbers: queue.next.join(" · ") })) : null,
  );
}

function renderStatus() {
  const feedList = [...feeds.values()];
  let state = "connecting";
  if (feedList.length && feedList.every((feed) => feed.live)) state = "live";
  else if (!reachable || feedList.some((feed) => feed.everLive)) state = "reconnecting";
  const status = $("status");
  status.dataset.state = state;
  status.textContent = t(`status.${state}`);
  status.title = state === "reconnecting" ? t("status.offline") : "";
  document.body.classList.toggle("degraded", state === "reconnecting");
}

function clock(date) {
  return date.toLocaleTimeString(language() === "fr" ? "fr-FR" : "en-GB", { hour: "2-digit", minute: "2-digit" });
}

function tick() {
  const element = $("clock");
  if (!element) return;
  const now = new Date();
  element.dateTime = now.toISOString();
  element.textContent = clock(now);
}

if (counterOnly) document.body.classList.add("counter-display");
setUpLanguage(() => {
  render();
  tick();
});
setInterval(tick, 10000);
setInterval(closeSilentSockets, SILENCE_MS / 3);
await startDevice(client, "display", () => {
  reachable = false;
  render();
});
const deviceName = $("device-name");
if (deviceName) deviceName.textContent = client.device.name;
client.startPinging();
poll();
