// The kiosk's "I have an appointment" screen: the customer types the booking code, or scans the
// QR code of "my appointment" (SQ1:DEP-K7QMX, typed by the scanner: kiosk.js hands it over from
// any screen), the kiosk checks the appointment in (POST appointments/check-in/ {code}, as this
// kiosk) and shows the ticket it issued; refusals in words. Loaded by kiosk.js on first use, so
// a kiosk that never sees an appointment does not load it; its strings join the shared table.

import { NetworkError } from "./device.js";
import { uuid4 } from "./dom.js";
import { STRINGS, clock, moment, onLanguageChange, t, translatePage } from "./i18n.js";

Object.assign(STRINGS.en, {
  "kiosk.checkInTitle": "Check in for your appointment",
  "kiosk.bookingCode": "Your booking code",
  "kiosk.bookingCodeHelp": "It is in your confirmation message, like DEP-K7QMX. You can also scan your appointment's QR code.",
  "kiosk.checkIn": "Check in",
  "kiosk.checkingIn": "Checking you in…",
  "kiosk.back": "Back",
  "kiosk.checkedIn": "You are checked in for your {time} appointment.",
  "kiosk.checkedInLate": "You came after your appointment's check-in time ({time}): you join the line as a walk-in.",
  "kiosk.codeMissing": "Type your booking code first.",
  "kiosk.codeUnknown": "We found no appointment today with this code. Check it, or ask at the desk.",
  "kiosk.codeTooEarly": "It is too early to check in. You can check in from {when}.",
  "kiosk.codeAlready": "This appointment is already checked in: watch the screens for your number.",
  "kiosk.codeClosed": "This appointment was cancelled or missed. Please ask at the desk.",
  "kiosk.codeTooMany": "Too many codes were tried at this kiosk. Please ask at the desk.",
  "kiosk.scanUnknown": "This is not a booking code. Scan the QR code of your appointment, or type your booking code.",
});
Object.assign(STRINGS.fr, {
  "kiosk.checkInTitle": "Enregistrez votre arrivée",
  "kiosk.bookingCode": "Votre code de réservation",
  "kiosk.bookingCodeHelp": "Il figure dans votre message de confirmation, par exemple DEP-K7QMX. Vous pouvez aussi scanner le QR code de votre rendez-vous.",
  "kiosk.checkIn": "Enregistrer mon arrivée",
  "kiosk.checkingIn": "Enregistrement…",
  "kiosk.back": "Retour",
  "kiosk.checkedIn": "Votre arrivée est enregistrée pour votre rendez-vous de {time}.",
  "kiosk.checkedInLate": "Vous arrivez après l'heure d'accueil de votre rendez-vous ({time}) : vous rejoignez la file sans rendez-vous.",
  "kiosk.codeMissing": "Saisissez d'abord votre code de réservation.",
  "kiosk.codeUnknown": "Aucun rendez-vous aujourd'hui avec ce code. Vérifiez-le, ou adressez-vous à l'accueil.",
  "kiosk.codeTooEarly": "Il est trop tôt pour enregistrer votre arrivée. Vous pourrez le faire à partir du {when}.",
  "kiosk.codeAlready": "Ce rendez-vous est déjà enregistré : surveillez votre numéro sur les écrans.",
  "kiosk.codeClosed": "Ce rendez-vous a été annulé ou manqué. Adressez-vous à l'accueil.",
  "kiosk.codeTooMany": "Trop de codes ont été essayés sur cette borne. Adressez-vous à l'accueil.",
  "kiosk.scanUnknown": "Ce n'est pas un code de réservation. Scannez le QR code de votre rendez-vous, ou saisissez votre code.",
});

// An appointment's QR code holds "SQ1:" and its booking code (service code, five characters).
const SCANNED = /^(?:SQ1:)?([A-Z]{1,3}-[A-Z0-9]{5})$/;
const $ = (id) => document.getElementById(id);
let screen = null; // the open screen's state; one at a time
let wired = false;

/** Open the code screen. ``kiosk`` gives the device client, a queue by id, ``showTicket`` and
 * ``back``; the answer's ``close()`` hides the screen again. */
export function openCheckIn(kiosk) {
  screen = { kiosk, busy: false, errorKey: null, opensAt: null, attempt: null };
  if (!wired) {
    wired = true;
    $("check-in-form").addEventListener("submit", submit);
    $("check-in-back").addEventListener("click", () => screen?.kiosk.back());
    onLanguageChange(render);
  }
  $("booking-code").value = "";
  translatePage($("check-in"));
  render();
  $("booking-code").focus();
  return { close, scan };
}

/** The booking code in a scanned or typed text: ``SQ1:DEP-K7QMX`` or ``DEP-K7QMX``, in any
 * case, spaces around; ``null`` for anything else. */
export function bookingCode(text) {
  return SCANNED.exec(String(text).trim().toUpperCase())?.[1] ?? null;
}

/** A scanner's text: its booking code checks in at once; any other text is refused. */
function scan(text) {
  if (!screen || screen.busy) return;
  const code = bookingCode(text);
  $("booking-code").value = code ?? "";
  if (!code) return refuse("kiosk.scanUnknown");
  submit();
}

function close() {
  screen = null;
  $("booking-code").value = "";
  $("check-in").hidden = true;
}

function render() {
  if (!screen) return;
  $("check-in").hidden = false;
  const { errorKey, opensAt, busy } = screen;
  $("check-in-error").textContent = errorKey ? t(errorKey, { when: opensAt ? moment(opensAt) : "" }) : "";
  const button = $("check-in-submit");
  button.disabled = busy;
  button.setAttribute("aria-busy", busy ? "true" : "false");
  button.textContent = t(busy ? "kiosk.checkingIn" : "kiosk.checkIn");
}

async function submit(event) {
  event?.preventDefault();
  if (!screen || screen.busy) return;
  const current = screen;
  const typed = $("booking-code").value;
  const code = bookingCode(typed) ?? typed.trim().toUpperCase();
  if (!code) return refuse("kiosk.codeMissing");
  // A retry of the same code after a lost answer carries the same key: one check-in.
  if (current.attempt?.code !== code) current.attempt = { code, key: uuid4() };
  current.busy = true;
  current.errorKey = null;
  render();
  let response;
  try {
    response = await current.kiosk.client.request("POST", "appointments/check-in/", { code }, {
      "Idempotency-Key": current.attempt.key,
    });
  } catch (error) {
    current.busy = false;
    return refuse(error instanceof NetworkError ? "error.network" : "error.unknown");
  }
  current.busy = false;
  if (response.status < 500) current.attempt = null; // a final answer: the next try is new
  if (response.status !== 201) return refuse(refusal(response), response.data?.opens_at);
  const { ticket, placement, appointment } = response.data;
  const note = placement === "walk_in" ? "kiosk.checkedInLate" : "kiosk.checkedIn";
  current.kiosk.showTicket(ticket, current.kiosk.queue(ticket.queue_id), note, {
    time: clock(appointment.start),
  });
}

function refuse(key, opensAt = null) {
  if (!screen) return;
  screen.errorKey = key;
  screen.opensAt = opensAt;
  render();
  $("booking-code").focus();
}

function refusal({ status, data }) {
  const code = data?.code;
  if (status === 404 || status === 400 || status === 422) return "kiosk.codeUnknown";
  if (code === "too_early") return "kiosk.codeTooEarly";
  if (code === "already_checked_in") return "kiosk.codeAlready";
  if (code === "appointment_closed") return "kiosk.codeClosed";
  if (code === "no_queue_for_service") return "error.queueNotAccepting";
  if (code === "site_closed") return data.opens_at ? "error.siteClosedUntil" : "error.siteClosed";
  if (status === 429) return "kiosk.codeTooMany";
  if (status === 403) return "error.forbidden";
  if (status === 409 || status >= 500) return "error.busy";
  return "error.unknown";
}
