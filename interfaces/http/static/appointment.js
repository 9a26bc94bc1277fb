// "My appointment": the customer's own appointment, reached by its capability token (/a/{token}):
// service, site, day and time in the site's time zone, the booking code and the status; move it
// to another free time, cancel it (after a confirmation), and check in from the phone while the
// check-in window is open (then the ticket's number and its "my ticket" link). The page reads
// the appointment again every half minute, so the check-in button appears when the window opens.

import { setUpLanguage } from "./dom.js";
import { clock, moment, t } from "./i18n.js";
import { call } from "./public.js";
import { SlotPicker, refusalKey, showQr } from "./booking.js";

const REFRESH_SECONDS = 30;
const PICKER_HORIZON_DAYS = 30; // the API leaves out what is beyond the service's own horizon
const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.pathname.split("/")[2] || "");
const path = `appointments/${encodeURIComponent(token)}/`;
const state = {
  appointment: null,
  invalid: false,
  errorKey: null,
  errorParams: {},
  noticeKey: null,
  noticeParams: {},
  busy: false,
  confirming: false, // the "cancel?" question is shown
  moving: false, // the slot picker is shown
};
const picker = new SlotPicker($("picker"), (slot) => reschedule(slot));

function render() {
  document.title = `${t("appt.title")} · SmartQueue`;
  const errorKey = state.invalid ? "appt.invalid" : state.errorKey;
  $("error").textContent = errorKey ? t(errorKey, state.errorParams) : "";
  $("notice").textContent = state.noticeKey ? t(state.noticeKey, state.noticeParams) : "";
  const appointment = state.appointment;
  $("appointment").hidden = !appointment || state.invalid || state.moving;
  $("moving").hidden = !appointment || !state.moving;
  if (!appointment || state.invalid) return;
  const zone = appointment.timezone;
  $("what").textContent = t("appt.what", { service: appointment.service_name, site: appointment.site_name });
  $("when").textContent = `${moment(appointment.start, zone)} – ${clock(appointment.end, zone)}`;
  $("status").textContent = t(`appt.status.${appointment.status}`);
  $("code").textContent = appointment.code;
  showQr($("qr"), token, appointment.code);
  const live = ["booked", "rescheduled"].includes(appointment.status);
  $("code-block").hidden = !live;
  const ticket = appointment.ticket;
  $("ticket").hidden = !ticket;
  if (ticket) {
    $("ticket-number").textContent = ticket.number;
    $("ticket-link").href = `${ticket.url}?lang=${document.documentElement.lang}`;
  }
  $("window").textContent = live
    ? t("appt.window", {
        opens: moment(appointment.check_in_opens_at, zone),
        closes: clock(appointment.check_in_closes_at, zone),
      })
    : "";
  const checkIn = $("check-in");
  checkIn.hidden = !appointment.can_check_in;
  checkIn.disabled = state.busy;
  $("cutoff").textContent = live
    ? appointment.can_cancel
      ? t("appt.cutoff", { when: moment(appointment.cancel_until, zone) })
      : t("appt.noChange")
    : "";
  for (const id of ["reschedule", "cancel"]) {
    $(id).hidden = !appointment.can_cancel || state.confirming;
    $(id).disabled = state.busy;
  }
  $("confirm-cancel").hidden = !state.confirming;
  $("cancel-yes").disabled = state.busy;
  picker.disabled = state.busy;
  picker.render();
}

function take(answer) {
  if (answer.status === 200 || answer.status === 201) {
    state.appointment = answer.body.appointment ?? answer.body;
    if (answer.body.ticket && answer.body.appointment) state.appointment.ticket = answer.body.ticket;
    return true;
  }
  if (answer.status === 404) {
    state.invalid = true;
    return false;
  }
  state.errorKey = refusalKey(answer);
  state.errorParams = answer.body?.opens_at
    ? { when: moment(answer.body.opens_at, state.appointment?.timezone) }
    : {};
  return false;
}

async function refresh() {
  if (!state.busy && !state.moving && !state.invalid) {
    take(await call("GET", path));
    render();
  }
  const status = state.appointment?.status;
  if (!state.invalid && status !== "cancelled" && status !== "served") {
    setTimeout(refresh, REFRESH_SECONDS * 1000);
  }
}

async function act(action, body = undefined) {
  if (state.busy) return null;
  state.busy = true;
  state.errorKey = null;
  state.noticeKey = null;
  render();
  const answer = await call("POST", `${path}${action}/`, body);
  state.busy = false;
  const done = take(answer);
  render();
  if (!done) $("error").focus();
  return done ? answer : null;
}

async function checkIn() {
  const answer = await act("check-in");
  if (!answer) return;
  state.noticeKey = "appt.checkedIn";
  state.noticeParams = { number: answer.body.ticket.number };
  render();
  $("ticket-link").focus();
}

async function cancel() {
  const answer = await act("cancel");
  state.confirming = false;
  if (answer) state.noticeKey = "appt.cancelled";
  render();
}

function startMoving() {
  const appointment = state.appointment;
  if (!appointment?.can_cancel) return;
  state.moving = true;
  state.errorKey = null;
  state.noticeKey = null;
  render();
  picker.load({
    slug: appointment.slug,
    siteId: appointment.site_id,
    serviceId: appointment.service_id,
    timezone: appointment.timezone,
    horizonDays: PICKER_HORIZON_DAYS,
    skip: appointment.start,
  });
  $("moving-title").focus?.();
}

async function reschedule(slot) {
  const answer = await act("reschedule", { start: slot.start });
  if (!answer) return picker.load({ ...picker.where }); // taken meanwhile: what is free now
  state.moving = false;
  state.noticeKey = "appt.moved";
  state.noticeParams = { when: moment(state.appointment.start, state.appointment.timezone) };
  render();
}

$("check-in").addEventListener("click", checkIn);
$("reschedule").addEventListener("click", startMoving);
$("keep").addEventListener("click", () => {
  state.moving = false;
  render();
});
$("cancel").addEventListener("click", () => {
  state.confirming = true;
  render();
  $("cancel-no").focus();
});
$("cancel-no").addEventListener("click", () => {
  state.confirming = false;
  render();
});
$("cancel-yes").addEventListener("click", cancel);
setUpLanguage(render);
refresh();
