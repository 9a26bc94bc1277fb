// The booking page of a site: choose a service, a day and a time; the time is held for the
// service's hold_minutes while the customer gives a name and a phone or an email; confirming
// books it and shows the booking code and the "my appointment" link (/a/{token}). A hold that
// runs out (counted here from the answer, and told by the API on confirming) frees the time and
// the customer chooses again.

import { h, setUpLanguage } from "./dom.js";
import { language, moment, setLanguage, t } from "./i18n.js";
import { call } from "./public.js";
import { SlotPicker, refusalKey, showQr } from "./booking.js";

const $ = (id) => document.getElementById(id);
const [, , slug = "", siteId = ""] = location.pathname.split("/").map(decodeURIComponent);
const sitePath = `${encodeURIComponent(slug)}/sites/${encodeURIComponent(siteId)}`;
const state = {
  page: null, // {site, languages, services}
  serviceId: null,
  hold: null, // {hold_token, start, end, deadline (ms, this clock)}
  booked: null, // {appointment, url}
  errorKey: null,
  errorParams: {},
  busy: false,
};
let holdTimer = null;
const picker = new SlotPicker($("picker"), (slot) => hold(slot));

const service = () => state.page?.services.find((known) => known.id === state.serviceId) ?? null;
const timezone = () => state.page?.site.timezone;

function render() {
  document.title = `${t("book.title")} · SmartQueue`;
  $("error").textContent = state.errorKey ? t(state.errorKey, state.errorParams) : "";
  const page = state.page;
  if (!page) return;
  $("site-name").textContent = page.site.name;
  $("choose").hidden = Boolean(state.hold || state.booked);
  $("details").hidden = !state.hold || Boolean(state.booked);
  $("booked").hidden = !state.booked;
  $("services").replaceChildren(
    ...page.services.map((offered, index) =>
      h(
        "li",
        { class: "choice-radio" },
        h("input", {
          type: "radio",
          id: `service-${index}`,
          name: "service",
          value: offered.id,
          checked: offered.id === state.serviceId,
          onchange: () => chooseService(offered.id),
        }),
        h("label", { for: `service-${index}` }, offered.name),
      ),
    ),
  );
  $("no-services").hidden = page.services.length > 0;
  picker.disabled = state.busy;
  picker.render();
  if (state.hold) renderHold();
  const confirm = $("confirm");
  confirm.disabled = state.busy;
  confirm.setAttribute("aria-busy", state.busy ? "true" : "false");
  confirm.textContent = t(state.busy ? "book.confirming" : "book.confirm");
  if (state.booked) renderBooked();
}

function renderHold() {
  const seconds = Math.max(0, Math.ceil((state.hold.deadline - Date.now()) / 1000));
  const left = seconds >= 60 ? t("book.minutes", { minutes: Math.ceil(seconds / 60) }) : t("book.seconds", { seconds });
  $("held").textContent = t("book.held", { when: moment(state.hold.start, timezone()), left });
}

function renderBooked() {
  const { appointment, url } = state.booked;
  $("booked-what").textContent = t("appt.what", { service: appointment.service_name, site: appointment.site_name });
  $("booked-when").textContent = moment(appointment.start, appointment.timezone);
  $("booked-code").textContent = appointment.code;
  showQr($("booked-qr"), state.booked.token, appointment.code);
  $("booked-link").href = `${url}?lang=${language()}`;
}

function fail(answer) {
  state.errorKey = refusalKey(answer);
  state.errorParams = {};
}

async function load() {
  const answer = await call("GET", `${sitePath}/booking/`);
  if (answer.status !== 200) {
    state.errorKey = answer.status === 404 ? "book.notFound" : refusalKey(answer);
    return render();
  }
  state.page = answer.body;
  render();
  if (answer.body.services.length) chooseService(answer.body.services[0].id);
}

function chooseService(serviceId) {
  state.serviceId = serviceId;
  render();
  reloadSlots();
}

function reloadSlots() {
  const chosen = service();
  if (!chosen) return;
  picker.load({
    slug,
    siteId,
    serviceId: chosen.id,
    timezone: timezone(),
    horizonDays: chosen.horizon_days,
  });
}

async function hold(slot) {
  if (state.busy || state.hold) return;
  state.busy = true;
  state.errorKey = null;
  render();
  const answer = await call("POST", `${sitePath}/holds/`, { service_id: state.serviceId, start: slot.start });
  state.busy = false;
  if (answer.status !== 201) {
    fail(answer);
    render();
    $("error").focus();
    return reloadSlots(); // the time was taken meanwhile: show what is free now
  }
  // Counted on this clock from the answer's arrival (the API's own clock may differ).
  const deadline = Date.now() + service().hold_minutes * 60_000;
  state.hold = { ...answer.body, deadline };
  $("language").value = language();
  clearInterval(holdTimer);
  holdTimer = setInterval(tick, 1000);
  render();
  $("name").focus();
}

function tick() {
  if (!state.hold) return clearInterval(holdTimer);
  if (Date.now() < state.hold.deadline) return renderHold();
  dropHold("error.holdExpired");
}

/** Leave the held time (ran out, or the customer wants another): free it and choose again. */
function dropHold(errorKey = null) {
  clearInterval(holdTimer);
  if (state.hold) {
    picker.loading = true; // what was free before the hold is not news: read it again once freed
    call("DELETE", `holds/${encodeURIComponent(state.hold.hold_token)}/`).then(reloadSlots);
  }
  state.hold = null;
  state.errorKey = errorKey;
  state.errorParams = {};
  render();
  if (errorKey) $("error").focus();
}

async function confirm(event) {
  event.preventDefault();
  if (state.busy || !state.hold) return;
  const name = $("name").value.trim();
  const phone = $("phone").value.trim();
  const email = $("email").value.trim();
  if (!name || (!phone && !email)) {
    state.errorKey = name ? "book.needContact" : "book.needName";
    render();
    return $(name ? "phone" : "name").focus();
  }
  const body = { hold_token: state.hold.hold_token, name, language: $("language").value };
  if (phone) body.phone = phone;
  if (email) body.email = email;
  state.busy = true;
  state.errorKey = null;
  render();
  const answer = await call("POST", `${sitePath}/appointments/`, body);
  state.busy = false;
  if (answer.status === 201) {
    clearInterval(holdTimer);
    state.hold = null;
    state.booked = answer.body;
    render();
    return $("booked-title").focus?.();
  }
  fail(answer);
  if (answer.body?.code === "hold_expired" || answer.status === 404) {
    clearInterval(holdTimer);
    state.hold = null;
    state.errorKey = "error.holdExpired";
    reloadSlots();
  }
  render();
  $("error").focus();
}

$("details").addEventListener("submit", confirm);
$("change").addEventListener("click", () => dropHold());
$("language").addEventListener("change", () => setLanguage($("language").value));
setUpLanguage(render);
load();
