// What the booking page and "my appointment" share: their strings (added to the shared table on
// import, as public_i18n.js does), the refusals of the booking API in words, the QR code the
// kiosk's scanner reads, and the slot picker (the next days with free places, then that day's free times, in the site's time zone).

import { h } from "./dom.js";
import { STRINGS, clock, language, t } from "./i18n.js";
import { API, call, problemKey } from "./public.js";

Object.assign(STRINGS.en, {
  "book.title": "Book an appointment",
  "book.service": "Choose a service",
  "book.noServices": "No service can be booked at this site.",
  "book.day": "Choose a day",
  "book.slot": "Choose a time",
  "book.loading": "Looking for free times…",
  "book.noDays": "No free time in the next {days} days. Please try again later.",
  "book.free": "{count} free",
  "book.held": "{when} is held for you: {left} left to confirm.",
  "book.minutes": "{minutes} min",
  "book.seconds": "{seconds} s",
  "book.changeTime": "Choose another time",
  "book.details": "Your details",
  "book.name": "Your name",
  "book.phone": "Your mobile number (with country code, e.g. +33 6 12 34 56 78)",
  "book.email": "Your email",
  "book.contactHelp": "Give a mobile number or an email, or both: your confirmation is sent there.",
  "book.language": "Language of your messages",
  "book.confirm": "Confirm my appointment",
  "book.confirming": "Booking…",
  "book.booked": "Your appointment is booked",
  "book.yourCode": "Your booking code",
  "book.showQr": "Show this QR code at the kiosk when you arrive, or type the code.",
  "book.qrAlt": "QR code of your booking code {code}",
  "book.see": "See, move or cancel my appointment",
  "book.needName": "Enter your name.",
  "book.needContact": "Enter a mobile number or an email.",
  "book.notFound": "This booking page does not exist.",
  "appt.what": "{service} at {site}",
  "appt.title": "My appointment",
  "appt.followTicket": "Follow my ticket",
  "appt.checkIn": "I'm here: check in",
  "appt.reschedule": "Change the time",
  "appt.cancel": "Cancel my appointment",
  "appt.cancelQuestion": "Cancel this appointment? Its time will be offered to others.",
  "appt.cancelYes": "Yes, cancel it",
  "appt.cancelNo": "No, keep it",
  "appt.pickNew": "Choose a new time",
  "appt.keep": "Keep my time",
  "appt.status.booked": "Booked",
  "appt.status.rescheduled": "Booked",
  "appt.status.checked_in": "Checked in",
  "appt.status.cancelled": "Cancelled",
  "appt.status.no_show": "Missed",
  "appt.status.served": "Your visit is over",
  "appt.window": "You can check in here or at the kiosk from {opens} to {closes}.",
  "appt.cutoff": "You can change or cancel it until {when}.",
  "appt.noChange": "It can no longer be changed or cancelled online.",
  "appt.moved": "Your appointment was moved to {when}.",
  "appt.cancelled": "Your appointment is cancelled.",
  "appt.checkedIn": "You are checked in: your number is {number}.",
  "appt.invalid": "This appointment link is not valid or has expired.",
  "error.slotFull": "This time was just taken. Please choose another one.",
  "error.tooLateToBook": "This time is too soon to be booked now. Please choose a later one.",
  "error.beyondHorizon": "This day is too far ahead to be booked.",
  "error.outsideHours": "The site is not open at this time. Please choose another one.",
  "error.siteClosedDay": "The site is closed then. Please choose another day.",
  "error.customerLimit": "You already have the most appointments allowed that day.",
  "error.holdExpired": "Your hold ran out and the time was freed. Please choose a time again.",
  "error.tooLateToChange": "It is too late to change or cancel this appointment online. Please contact the site.",
  "error.appointmentClosed": "This appointment is cancelled or over: it cannot be changed.",
  "error.tooEarly": "Check-in is not open yet: it opens on {when}.",
  "error.alreadyCheckedIn": "You are already checked in.",
  "error.noQueue": "Check-in is not possible right now. Please ask at the desk.",
  "error.contact": "Check your mobile number (with its country code, like +33 6 12 34 56 78) or your email.",
});

Object.assign(STRINGS.fr, {
  "book.title": "Prendre rendez-vous",
  "book.service": "Choisissez un service",
  "book.noServices": "Aucun service ne peut être réservé sur ce site.",
  "book.day": "Choisissez un jour",
  "book.slot": "Choisissez un horaire",
  "book.loading": "Recherche des créneaux libres…",
  "book.noDays": "Aucun créneau libre dans les {days} prochains jours. Réessayez plus tard.",
  "book.free": "{count} libre(s)",
  "book.held": "{when} vous est réservé : encore {left} pour confirmer.",
  "book.minutes": "{minutes} min",
  "book.seconds": "{seconds} s",
  "book.changeTime": "Choisir un autre horaire",
  "book.details": "Vos coordonnées",
  "book.name": "Votre nom",
  "book.phone": "Votre numéro de mobile (avec l'indicatif, ex. +33 6 12 34 56 78)",
  "book.email": "Votre e-mail",
  "book.contactHelp": "Indiquez un numéro de mobile ou un e-mail, ou les deux : votre confirmation y est envoyée.",
  "book.language": "Langue de vos messages",
  "book.confirm": "Confirmer mon rendez-vous",
  "book.confirming": "Réservation…",
  "book.booked": "Votre rendez-vous est réservé",
  "book.yourCode": "Votre code de réservation",
  "book.showQr": "Présentez ce QR code à la borne à votre arrivée, ou saisissez le code.",
  "book.qrAlt": "QR code de votre code de réservation {code}",
  "book.see": "Voir, déplacer ou annuler mon rendez-vous",
  "book.needName": "Saisissez votre nom.",
  "book.needContact": "Saisissez un numéro de mobile ou un e-mail.",
  "book.notFound": "Cette page de réservation n'existe pas.",
  "appt.what": "{service} à {site}",
  "appt.title": "Mon rendez-vous",
  "appt.followTicket": "Suivre mon ticket",
  "appt.checkIn": "Je suis arrivé : enregistrer mon arrivée",
  "appt.reschedule": "Changer l'horaire",
  "appt.cancel": "Annuler mon rendez-vous",
  "appt.cancelQuestion": "Annuler ce rendez-vous ? Son horaire sera proposé à d'autres.",
  "appt.cancelYes": "Oui, l'annuler",
  "appt.cancelNo": "Non, le garder",
  "appt.pickNew": "Choisissez un nouvel horaire",
  "appt.keep": "Garder mon horaire",
  "appt.status.booked": "Réservé",
  "appt.status.rescheduled": "Réservé",
  "appt.status.checked_in": "Arrivée enregistrée",
  "appt.status.cancelled": "Annulé",
  "appt.status.no_show": "Manqué",
  "appt.status.served": "Votre visite est terminée",
  "appt.window": "Vous pouvez enregistrer votre arrivée ici ou sur la borne de {opens} à {closes}.",
  "appt.cutoff": "Vous pouvez le déplacer ou l'annuler jusqu'au {when}.",
  "appt.noChange": "Il ne peut plus être déplacé ni annulé en ligne.",
  "appt.moved": "Votre rendez-vous a été déplacé au {when}.",
  "appt.cancelled": "Votre rendez-vous est annulé.",
  "appt.checkedIn": "Votre arrivée est enregistrée : votre numéro est {number}.",
  "appt.invalid": "Ce lien de rendez-vous n'est pas valide ou a expiré.",
  "error.slotFull": "Ce créneau vient d'être pris. Choisissez-en un autre.",
  "error.tooLateToBook": "Ce créneau est trop proche pour être réservé maintenant. Choisissez-en un plus tard.",
  "error.beyondHorizon": "Ce jour est trop loin pour être réservé.",
  "error.outsideHours": "Le site n'est pas ouvert à cette heure. Choisissez un autre créneau.",
  "error.siteClosedDay": "Le site est fermé ce jour-là. Choisissez un autre jour.",
  "error.customerLimit": "Vous avez déjà le nombre maximal de rendez-vous ce jour-là.",
  "error.holdExpired": "Le délai est dépassé et le créneau a été libéré. Choisissez de nouveau un horaire.",
  "error.tooLateToChange": "Il est trop tard pour modifier ou annuler ce rendez-vous en ligne. Contactez le site.",
  "error.appointmentClosed": "Ce rendez-vous est annulé ou passé : il ne peut plus être modifié.",
  "error.tooEarly": "L'enregistrement n'est pas encore ouvert : il ouvre le {when}.",
  "error.alreadyCheckedIn": "Votre arrivée est déjà enregistrée.",
  "error.noQueue": "L'enregistrement n'est pas possible pour le moment. Adressez-vous à l'accueil.",
  "error.contact": "Vérifiez votre numéro de mobile (avec l'indicatif, comme +33 6 12 34 56 78) ou votre e-mail.",
});

const REFUSALS = {
  slot_full: "error.slotFull",
  too_late_to_book: "error.tooLateToBook",
  beyond_horizon: "error.beyondHorizon",
  outside_opening_hours: "error.outsideHours",
  site_closed: "error.siteClosedDay",
  customer_limit: "error.customerLimit",
  hold_expired: "error.holdExpired",
  too_late_to_cancel: "error.tooLateToChange",
  appointment_closed: "error.appointmentClosed",
  too_early: "error.tooEarly",
  already_checked_in: "error.alreadyCheckedIn",
  no_queue_for_service: "error.noQueue",
};

/** The i18n key telling a customer why the booking API refused a call. */
export function refusalKey(answer) {
  const key = REFUSALS[answer.body?.code];
  if (key) return key;
  if (answer.status === 422 || answer.status === 400) return "error.contact";
  return problemKey(answer);
}

/** Show in ``img`` the QR code of the appointment ``token`` names (its booking code ``code``).
 * The code is in the address: a move to another day changes it, and a page reuses the image
 * of an address it loaded before whatever the cache says. */
export function showQr(img, token, code) {
  const src = `${API}/appointments/${encodeURIComponent(token)}/qr.svg?code=${encodeURIComponent(code)}`;
  if (img.getAttribute("src") !== src) img.src = src;
  img.alt = t("book.qrAlt", { code });
  img.hidden = false;
}

/** The local day (YYYY-MM-DD) of an instant in ``timeZone``. */
export function localDay(iso, timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
  return parts.format(new Date(iso));
}

function addDays(day, count) {
  return new Date(Date.parse(`${day}T00:00:00Z`) + count * 86_400_000).toISOString().slice(0, 10);
}

/** A day as the current language writes it: "Monday 7 December". */
export function dayName(iso, timeZone) {
  const locale = language() === "fr" ? "fr-FR" : "en-GB";
  return new Date(iso).toLocaleDateString(locale, { weekday: "long", day: "numeric", month: "long", timeZone });
}

const PICKER_DAYS = 14;

/** Days with free places, then a day's free times, of one service at a site; ``onPick(slot)``
 * runs when the customer picks a time. */
export class SlotPicker {
  constructor(root, onPick) {
    this.root = root;
    this.onPick = onPick;
    this.where = null; // {slug, siteId, serviceId, timezone, horizonDays, skip}
    this.slots = null;
    this.day = null;
    this.loading = false;
    this.failure = null;
    this.disabled = false;
  }

  /** Read the free slots of the next days (``skip``: a start not to offer, e.g. the current one). */
  async load(where) {
    this.where = where;
    this.loading = true;
    this.render();
    const { slug, siteId, serviceId, timezone, horizonDays } = where;
    const first = localDay(new Date().toISOString(), timezone);
    const days = Math.max(1, Math.min(PICKER_DAYS, horizonDays + 1));
    const query = new URLSearchParams({ service_id: serviceId, from: first, to: addDays(first, days - 1) });
    const path = `${encodeURIComponent(slug)}/sites/${encodeURIComponent(siteId)}/availability/?${query}`;
    const answer = await call("GET", path);
    if (this.where !== where) return; // another service was chosen meanwhile
    this.loading = false;
    this.failure = answer.status === 200 ? null : refusalKey(answer);
    this.slots = answer.status === 200 ? answer.body.items.filter((slot) => slot.free > 0 && Date.parse(slot.start) !== Date.parse(where.skip)) : [];
    this.days = days;
    const byDay = this.byDay();
    if (!byDay.has(this.day)) this.day = byDay.keys().next().value ?? null;
    this.render();
  }

  byDay() {
    const days = new Map();
    for (const slot of this.slots ?? []) {
      const day = localDay(slot.start, this.where.timezone);
      if (!days.has(day)) days.set(day, []);
      days.get(day).push(slot);
    }
    return days;
  }

  render() {
    if (!this.where) return this.root.replaceChildren();
    const { timezone } = this.where;
    if (this.loading) return this.root.replaceChildren(h("p", { class: "hint", role: "status" }, t("book.loading")));
    if (this.failure) return this.root.replaceChildren(h("p", { class: "error" }, t(this.failure)));
    const byDay = this.byDay();
    if (byDay.size === 0) {
      return this.root.replaceChildren(h("p", { class: "empty", "data-testid": "no-days" }, t("book.noDays", { days: this.days })));
    }
    const dayButtons = [...byDay.keys()].map((day) =>
      h("li", {}, h("button", {
        type: "button",
        class: "pick",
        "data-day": day,
        "aria-pressed": day === this.day ? "true" : "false",
        disabled: this.disabled,
        onclick: () => { this.day = day; this.render(); },
      }, dayName(byDay.get(day)[0].start, timezone))),
    );
    const slotButtons = (byDay.get(this.day) ?? []).map((slot) =>
      h("li", {}, h("button", {
        type: "button",
        class: "pick",
        "data-start": slot.start,
        disabled: this.disabled,
        onclick: () => this.onPick(slot),
      }, clock(slot.start, timezone), h("span", { class: "free" }, t("book.free", { count: slot.free })))),
    );
    this.root.replaceChildren(
      h("h3", { id: "days-title" }, t("book.day")),
      h("ul", { class: "picks", "aria-labelledby": "days-title", "data-testid": "days" }, dayButtons),
      h("h3", { id: "slots-title" }, t("book.slot")),
      h("ul", { class: "picks", "aria-labelledby": "slots-title", "data-testid": "slots" }, slotButtons),
    );
  }
}
