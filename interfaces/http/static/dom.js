// Small DOM helpers: elements are built with textContent only, never from HTML strings.

import { language, onLanguageChange, pickLanguage, setLanguage, translatePage } from "./i18n.js";

/** h("p", {class: "x", "data-i18n": "k"}, "text", child) -> an element. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function sleep(milliseconds) {
  return new Promise((resolve) => setTimeout(resolve, milliseconds));
}

/** The tenant slug of a page at /<page>/<slug>/. */
export function slugFromPath(pathname = location.pathname) {
  const parts = pathname.split("/").filter(Boolean);
  return decodeURIComponent(parts[1] || "");
}

/** A random UUID (v4) that also works outside secure contexts, unlike crypto.randomUUID. */
export function uuid4() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** Pick the language, translate the page, and wire the visible toggle; ``rerender`` runs on
 * every change of language. */
export function setUpLanguage(rerender) {
  const toggle = document.getElementById("lang-toggle");
  const refresh = () => {
    translatePage();
    if (toggle) toggle.setAttribute("lang", language() === "fr" ? "en" : "fr");
    rerender();
  };
  onLanguageChange(refresh);
  toggle?.addEventListener("click", () => setLanguage(language() === "fr" ? "en" : "fr"));
  setLanguage(pickLanguage());
}
