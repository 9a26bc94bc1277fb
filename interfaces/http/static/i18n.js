// Every string the pages show, in English and French, and the choice of language:
// ?lang=fr|en first, else the browser's languages, else English.

export const STRINGS = {
  en: {
    "lang.switch": "Français",
    "lang.switchLabel": "Passer en français",
    "display.title": "Now serving",
    "display.nowServing": "Now serving",
    "display.lastCalls": "Last calls",
    "display.waiting": "Waiting",
    "display.nobody": "No ticket called yet",
    "display.noCalls": "No calls yet today",
    "display.noQueues": "No queues at this site",
    "display.counter": "Counter {counter}",
    "display.counterIdle": "No ticket at this counter",
    "display.waitingCount": "{count} waiting",
    "display.next": "Next: {numbers}",
    "display.announce": "Ticket {number}, please go to counter {counter}",
    "display.announceNoCounter": "Ticket {number} is called",
    "queue.paused": "Paused",
    "queue.closed": "Closed",
    "status.connecting": "Connecting…",
    "status.live": "Live",
    "status.reconnecting": "Reconnecting…",
    "status.offline": "Connection lost, showing the last known state",
    "kiosk.title": "Take a ticket",
    "kiosk.choose": "Choose a service",
    "kiosk.noQueues": "No service is available at this kiosk",
    "kiosk.yourNumber": "Your number",
    "kiosk.position": "Your position in line: {position}",
    "kiosk.positionFirst": "You are next in line",
    "kiosk.eta": "Estimated wait: about {minutes} min",
    "kiosk.etaSoon": "Estimated wait: less than a minute",
    "kiosk.etaUnknown": "The wait time will be shown on the screens",
    "kiosk.keep": "Please keep your number and watch the screens.",
    "kiosk.done": "Done",
    "kiosk.backIn": "Back to the start in {seconds} s",
    "kiosk.haveAppointment": "I have an appointment",
    "error.queueNotAccepting": "Sorry, this service is not taking tickets right now. Please ask at the desk.",
    "error.forbidden": "This kiosk cannot issue tickets for this service.",
    "error.network": "Connection problem. Please try again in a moment.",
    "error.busy": "The system is busy. Please try again in a moment.",
    "error.unknown": "Something went wrong. Please ask at the desk.",
    "error.notFound": "This service no longer exists.",
    "error.siteClosed": "Sorry, we are closed now.",
    "error.siteClosedUntil": "Sorry, we are closed now. We open again on {when}.",
    "setup.title": "Set up this device",
    "setup.intro": "Enter the device id and secret shown when the device was registered.",
    "setup.deviceId": "Device id",
    "setup.secret": "Secret",
    "setup.save": "Sign in",
    "setup.rejected": "The device id or secret was refused. Check them, or ask for a new secret.",
    "setup.wrongKind": "This device is registered as a {kind}: open the {kind} page instead.",
    "setup.unknownTenant": "This organisation was not found for this device.",
    "kind.display": "display",
    "kind.kiosk": "kiosk",
  },
  fr: {
    "lang.switch": "English",
    "lang.switchLabel": "Switch to English",
    "display.title": "Appel en cours",
    "display.nowServing": "Appel en cours",
    "display.lastCalls": "Derniers appels",
    "display.waiting": "En attente",
    "display.nobody": "Aucun ticket appelé pour l'instant",
    "display.noCalls": "Aucun appel aujourd'hui",
    "display.noQueues": "Aucune file sur ce site",
    "display.counter": "Guichet {counter}",
    "display.counterIdle": "Aucun ticket à ce guichet",
    "display.waitingCount": "{count} en attente",
    "display.next": "Suivants : {numbers}",
    "display.announce": "Ticket {number}, présentez-vous au guichet {counter}",
    "display.announceNoCounter": "Le ticket {number} est appelé",
    "queue.paused": "En pause",
    "queue.closed": "Fermée",
    "status.connecting": "Connexion…",
    "status.live": "En direct",
    "status.reconnecting": "Reconnexion…",
    "status.offline": "Connexion perdue, dernier état connu affiché",
    "kiosk.title": "Prenez un ticket",
    "kiosk.choose": "Choisissez un service",
    "kiosk.noQueues": "Aucun service n'est disponible sur cette borne",
    "kiosk.yourNumber": "Votre numéro",
    "kiosk.position": "Votre position dans la file : {position}",
    "kiosk.positionFirst": "Vous êtes le prochain",
    "kiosk.eta": "Attente estimée : environ {minutes} min",
    "kiosk.etaSoon": "Attente estimée : moins d'une minute",
    "kiosk.etaUnknown": "Le temps d'attente sera affiché sur les écrans",
    "kiosk.keep": "Gardez votre numéro et surveillez les écrans.",
    "kiosk.done": "Terminé",
    "kiosk.backIn": "Retour à l'accueil dans {seconds} s",
    "kiosk.haveAppointment": "J'ai un rendez-vous",
    "error.queueNotAccepting": "Désolé, ce service ne délivre pas de tickets pour le moment. Adressez-vous à l'accueil.",
    "error.forbidden": "Cette borne ne peut pas délivrer de tickets pour ce service.",
    "error.network": "Problème de connexion. Réessayez dans un instant.",
    "error.busy": "Le système est occupé. Réessayez dans un instant.",
    "error.unknown": "Une erreur est survenue. Adressez-vous à l'accueil.",
    "error.notFound": "Ce service n'existe plus.",
    "error.siteClosed": "Désolé, nous sommes fermés pour le moment.",
    "error.siteClosedUntil": "Désolé, nous sommes fermés pour le moment. Réouverture le {when}.",
    "setup.title": "Configurer cet appareil",
    "setup.intro": "Saisissez l'identifiant et le secret donnés à l'enregistrement de l'appareil.",
    "setup.deviceId": "Identifiant de l'appareil",
    "setup.secret": "Secret",
    "setup.save": "Se connecter",
    "setup.rejected": "Identifiant ou secret refusé. Vérifiez-les, ou demandez un nouveau secret.",
    "setup.wrongKind": "Cet appareil est enregistré comme {kind} : ouvrez plutôt la page « {kind} ».",
    "setup.unknownTenant": "Cette organisation est introuvable pour cet appareil.",
    "kind.display": "écran",
    "kind.kiosk": "borne",
  },
};

const SUPPORTED = Object.keys(STRINGS);
let current = "en";
const listeners = [];

/** The language asked for: ?lang=, else the browser's first supported language, else English. */
export function pickLanguage(search = location.search, preferred = navigator.languages) {
  const asked = new URLSearchParams(search).get("lang");
  if (asked && SUPPORTED.includes(asked)) return asked;
  for (const tag of preferred || []) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (SUPPORTED.includes(base)) return base;
  }
  return "en";
}

export function language() {
  return current;
}

/** Switch language: <html lang>, the ?lang= of the address (kept on reload), and every listener. */
export function setLanguage(lang) {
  current = SUPPORTED.includes(lang) ? lang : "en";
  document.documentElement.lang = current;
  const url = new URL(location.href);
  url.searchParams.set("lang", current);
  history.replaceState(null, "", url);
  for (const listener of listeners) listener(current);
}

export function onLanguageChange(listener) {
  listeners.push(listener);
}

/** The string ``key`` in the current language with {placeholders} filled in. */
export function t(key, params = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : ""));
}

/** An instant (ISO 8601) as the current language writes a day and a time, in ``timeZone``
 * (IANA, e.g. a site's) or else the browser's: "Monday 7 December at 09:00". */
export function moment(iso, timeZone = undefined) {
  return new Date(iso).toLocaleString(current === "fr" ? "fr-FR" : "en-GB", {
    weekday: "long",
    day: "numeric",
    month: "long",
    hour: "2-digit",
    minute: "2-digit",
    timeZone,
  });
}

/** The time of day of an instant, "09:00", in ``timeZone`` or else the browser's. */
export function clock(iso, timeZone = undefined) {
  const locale = current === "fr" ? "fr-FR" : "en-GB";
  return new Date(iso).toLocaleTimeString(locale, { hour: "2-digit", minute: "2-digit", timeZone });
}

/** Fill every [data-i18n] element's text (and [data-i18n-label] aria-label) of the page. */
export function translatePage(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    element.textContent = t(element.dataset.i18n);
  }
  for (const element of root.querySelectorAll("[data-i18n-label]")) {
    element.setAttribute("aria-label", t(element.dataset.i18nLabel));
  }
}
