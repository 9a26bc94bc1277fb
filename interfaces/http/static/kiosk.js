// The kiosk: choose a service, get a ticket (number, position, ETA), back to the start. "I have
// an appointment" loads the booking code check-in (kiosk_check_in.js) on first use.

import { DeviceClient, NetworkError, showSetup, startDevice } from "./device.js";
import { h, setUpLanguage, slugFromPath, sleep, uuid4 } from "./dom.js";
import { moment, t } from "./i18n.js";

const TICKET_SECONDS = 10;
const ERROR_SECONDS = 8;
const REFRESH_SECONDS = 60;

const client = new DeviceClient("kiosk", slugFromPath());
const $ = (id) => document.getElementById(id);
const state = {
  queues: [],
  choices: [], // one per service of each queue: {queue, service: {id, name} | null}
  keys: new Map(), // choice key -> Idempotency-Key of the tap being answered (same key on retry)
  issuing: false,
  shown: null, // {ticket, queue, noteKey, noteParams} on the ticket screen
  checkIn: null, // the booking code screen's controller while it is open
  errorKey: null,
  errorParams: {}, // e.g. {opensAt} for a closed site, formatted when rendered
  statusKey: null,
  countdown: 0,
};
let countdownTimer = null;
let errorTimer = null;

function render() {
  document.title = `${t("kiosk.title")} · SmartQueue`;
  const status = $("status");
  if (status) status.textContent = state.statusKey ? t(state.statusKey) : "";
  if (!$("start")) return; // the set-up form replaced the page
  const { opensAt } = state.errorParams;
  $("error").textContent = state.errorKey ? t(state.errorKey, opensAt ? { when: moment(opensAt) } : {}) : "";
  renderQueues();
  renderTicket();
}

const choiceKey = (choice) => `${choice.queue.id}:${choice.service?.id ?? ""}`;

function renderQueues() {
  const list = $("queues");
  const focused = document.activeElement?.dataset?.choice;
  list.replaceChildren(
    ...state.choices.map((choice) => {
      const { queue, service } = choice;
      const badge = queue.status === "open" ? null : h("span", { class: "badge" }, t(`queue.${queue.status}`));
      const button = h(
        "button",
        {
          type: "button",
          class: "choice",
          "data-queue-id": queue.id,
          "data-service-id": service?.id ?? null,
          "data-choice": choiceKey(choice),
          "aria-busy": state.issuing ? "true" : null,
          onclick: () => issue(choice),
        },
        h("span", { class: "choice-name" }, service?.name ?? queue.name),
        service ? h("span", { class: "choice-queue" }, queue.name) : null,
        badge,
      );
      return h("li", {}, button);
    }),
  );
  $("empty").hidden = state.choices.length > 0;
  if (focused) list.querySelector(`[data-choice="${CSS.escape(focused)}"]`)?.focus();
}

function renderTicket() {
  const section = $("ticket");
  section.hidden = !state.shown;
  $("start").hidden = Boolean(state.shown || state.checkIn);
  if (!state.shown) return;
  const { ticket, queue, noteKey, noteParams } = state.shown;
  $("ticket-number").textContent = ticket.number;
  $("ticket-queue").textContent = queue?.name ?? "";
  $("ticket-note").textContent = noteKey ? t(noteKey, noteParams) : "";
  $("ticket-position").textContent =
    ticket.position === 1 ? t("kiosk.positionFirst") : t("kiosk.position", { position: ticket.position ?? "–" });
  $("ticket-eta").textContent = etaText(ticket.eta_seconds);
  $("countdown").textContent = t("kiosk.backIn", { seconds: state.countdown });
}

function etaText(seconds) {
  if (seconds === null || seconds === undefined) return t("kiosk.etaUnknown");
  if (seconds < 60) return t("kiosk.etaSoon");
  return t("kiosk.eta", { minutes: Math.ceil(seconds / 60) });
}

async function loadQueues() {
  try {
    const { status, items } = await client.list("queues/");
    if (status === 404) return showSetup(client, "setup.unknownTenant");
    if (items) {
      state.queues = items.filter((queue) => queue.status !== "closed");
      const services = await client.list("queues/services/");
      const names = new Map((services.items ?? []).map((service) => [service.id, service]));
      // A customer chooses a service; a queue serving several offers each of them.
      state.choices = state.queues.flatMap((queue) => {
        const known = queue.service_ids.map((id) => names.get(id)).filter(Boolean);
        return known.length ? known.map((service) => ({ queue, service })) : [{ queue, service: null }];
      });
    }
    state.statusKey = null;
  } catch (error) {
    if (!(error instanceof NetworkError)) throw error;
    state.statusKey = "status.offline";
  }
  if (!state.shown) render();
}

async function issue(choice) {
  if (state.issuing || state.shown) return; // a second tap while the first is answered
  const { queue, service } = choice;
  state.issuing = true;
  showError(null);
  $("start").setAttribute("aria-busy", "true");
  const key = state.keys.get(choiceKey(choice)) ?? uuid4();
  state.keys.set(choiceKey(choice), key);
  const body = { queue_id: queue.id, channel: "kiosk" };
  if (service) body.service_id = service.id;
  try {
    const response = await client.request("POST", "tickets/", body, { "Idempotency-Key": key });
    // A final answer (2xx, 4xx) is remembered under its key; the next tap needs a new one.
    if (response.status < 500) state.keys.delete(choiceKey(choice));
    if (response.status === 201) showTicket(response.data, queue);
    else showError(errorFor(response), { opensAt: response.data?.opens_at });
    if (response.status === 404) loadQueues();
  } catch (error) {
    showError(error instanceof NetworkError ? "error.network" : "error.unknown");
  } finally {
    state.issuing = false;
    $("start")?.removeAttribute("aria-busy");
  }
}

function errorFor({ status, data }) {
  const code = data?.code; // each of these comes with a 409
  if (code === "queue_not_accepting") return "error.queueNotAccepting";
  if (code === "site_closed") return data.opens_at ? "error.siteClosedUntil" : "error.siteClosed";
  if (status === 403) return "error.forbidden";
  if (status === 404) return "error.notFound";
  if (status === 429 || status >= 500 || code === "idempotency_key_in_flight") return "error.busy";
  return "error.unknown";
}

function showError(key, params = {}) {
  state.errorKey = key;
  state.errorParams = params;
  clearTimeout(errorTimer);
  if (key) errorTimer = setTimeout(() => showError(null), ERROR_SECONDS * 1000);
  render();
}

function showTicket(ticket, queue, noteKey = null, noteParams = {}) {
  state.checkIn?.close();
  state.checkIn = null;
  state.shown = { ticket, queue, noteKey, noteParams };
  state.countdown = TICKET_SECONDS;
  render();
  $("announcer").textContent = `${t("kiosk.yourNumber")} ${ticket.number}. ${$("ticket-position").textContent}`;
  $("done").focus();
  clearInterval(countdownTimer);
  countdownTimer = setInterval(() => {
    state.countdown -= 1;
    if (state.countdown <= 0) backToStart();
    else renderTicket();
  }, 1000);
}

function backToStart() {
  clearInterval(countdownTimer);
  state.checkIn?.close();
  state.checkIn = null;
  state.shown = null;
  state.keys.clear();
  $("announcer").textContent = "";
  render();
  $("queues").querySelector("button")?.focus();
  loadQueues();
}

async function openCheckIn(scanned) {
  if (state.issuing || (!scanned && (state.shown || state.checkIn))) return;
  if (state.shown) backToStart();
  showError(null);
  let module;
  try {
    module = await import("./kiosk_check_in.js");
  } catch {
    return showError("error.network");
  }
  state.checkIn ??= module.openCheckIn({
    client,
    queue: (id) => state.queues.find((queue) => queue.id === id) ?? null,
    showTicket,
    back: backToStart,
  });
  if (scanned) state.checkIn.scan(scanned);
  render();
}

// At any screen, a scanner types a code and Enter, under 80 ms a key on average.
let typed = "";
let firstKeyAt = 0;
let lastKeyAt = 0;
function onKey(event) {
  const now = event.timeStamp;
  if (now - lastKeyAt > 900 || !typed) {
    typed = "";
    firstKeyAt = now;
  }
  lastKeyAt = now;
  if (event.key.length === 1) typed += event.key;
  else if (event.key === "Enter") {
    if (typed.length > 6 && now - firstKeyAt < 80 * typed.length && $("start")) {
      event.preventDefault();
      openCheckIn(typed);
    }
    typed = "";
  }
}

setUpLanguage(render);
$("done").addEventListener("click", backToStart);
$("appointment-entry").addEventListener("click", () => openCheckIn());
await startDevice(client, "kiosk", () => {
  state.statusKey = "status.offline";
  render();
});
addEventListener("keydown", onKey, true);
client.startPinging();
await loadQueues();
for (;;) {
  await sleep(REFRESH_SECONDS * 1000);
  if (!state.shown && !state.issuing) await loadQueues();
}
