// A registered display or kiosk: its stored credentials, its short-lived token, API calls that
// sign in again on 401, the presence ping, and the set-up form shown when it has no credentials.

import { h, sleep } from "./dom.js";
import { onLanguageChange, t, translatePage } from "./i18n.js";

const API = "/api/v1";
const PING_SECONDS = 20;

export class NetworkError extends Error {}
export class CredentialsRejected extends Error {}

export class DeviceClient {
  constructor(page, slug) {
    this.page = page;
    this.slug = slug;
    this.storageKey = `smartqueue:${page}:${slug}`;
    this.token = null;
    this.device = null;
    this.signingIn = null;
    this.refreshTimer = null;
    this.onRejected = () => {};
  }

  /** Provisioning: #device=<id>&secret=<secret> is stored, then removed from the address (the
   * fragment never reaches the server, and must not stay on screen or in the history). */
  takeFragment() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const deviceId = fragment.get("device");
    const secret = fragment.get("secret");
    if (deviceId && secret) this.store(deviceId, secret);
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
  }

  credentials() {
    try {
      const stored = JSON.parse(localStorage.getItem(this.storageKey) || "null");
      return stored && stored.device_id && stored.secret ? stored : null;
    } catch {
      return null;
    }
  }

  store(deviceId, secret) {
    localStorage.setItem(
      this.storageKey,
      JSON.stringify({ device_id: deviceId.trim(), secret: secret.trim() }),
    );
  }

  forget() {
    localStorage.removeItem(this.storageKey);
  }

  /** Sign in with the stored secret; one sign-in at a time, shared by concurrent callers. */
  signIn() {
    this.signingIn ??= this.#signIn().finally(() => {
      this.signingIn = null;
    });
    return this.signingIn;
  }

  async #signIn() {
    const stored = this.credentials();
    if (!stored) throw new CredentialsRejected("no credentials");
    const response = await send("POST", `${API}/auth/device/`, stored, {});
    if (response.status === 401 || response.status === 400 || response.status === 422) {
      throw new CredentialsRejected(response.data?.code || String(response.status));
    }
    if (response.status !== 200) throw new NetworkError(`sign-in answered ${response.status}`);
    this.token = response.data.access_token;
    this.device = response.data.device;
    clearTimeout(this.refreshTimer);
    // Well before expiry; a failed early sign-in leaves the 401 path to try again.
    const seconds = Math.max(5, Math.floor(response.data.expires_in * 0.8));
    this.refreshTimer = setTimeout(() => this.signIn().catch(() => {}), seconds * 1000);
    return this.device;
  }

  /** A call to a route of this tenant; a 401 signs in again and retries once. Answers
   * {status, data, headers}; throws NetworkError when the server cannot be reached. */
  async request(method, relative, body = undefined, headers = {}) {
    const url = `${API}/tenants/${encodeURIComponent(this.slug)}/${relative}`;
    if (!this.token) await this.#signInOrReject();
    let response = await send(method, url, body, { ...headers, Authorization: `Bearer ${this.token}` });
    if (response.status === 401) {
      await this.#signInOrReject();
      response = await send(method, url, body, { ...headers, Authorization: `Bearer ${this.token}` });
    }
    return response;
  }

  async #signInOrReject() {
    try {
      await this.signIn();
    } catch (error) {
      if (error instanceof CredentialsRejected) this.onRejected(error);
      throw error;
    }
  }

  /** Every item of a paginated list route. */
  async list(relative) {
    const items = [];
    let cursor = null;
    for (let page = 0; page < 50; page += 1) {
      const query = cursor ? `?limit=200&cursor=${encodeURIComponent(cursor)}` : "?limit=200";
      const response = await this.request("GET", relative + query);
      if (response.status !== 200) return { status: response.status, items: null };
      items.push(...response.data.items);
      cursor = response.data.cursor;
      if (!cursor) break;
    }
    return { status: 200, items };
  }

  startPinging() {
    const ping = () => this.request("POST", "devices/ping/").catch(() => {});
    ping();
    return setInterval(ping, PING_SECONDS * 1000);
  }
}

async function send(method, url, body, headers) {
  let response;
  try {
    response = await fetch(url, {
      method,
      headers: body === undefined ? headers : { ...headers, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (error) {
    throw new NetworkError(String(error));
  }
  let data = null;
  if (response.status !== 204) data = await response.json().catch(() => null);
  return { status: response.status, data, headers: response.headers };
}

/** Sign in the page's device: with the stored credentials, after the set-up form otherwise.
 * Resolves with the signed-in client once the device is of ``kind``. */
export async function startDevice(client, kind, onNetworkTrouble = () => {}) {
  client.takeFragment();
  client.onRejected = () => showSetup(client, "setup.rejected");
  let delay = 500;
  for (;;) {
    if (!client.credentials()) return new Promise(() => showSetup(client));
    try {
      const device = await client.signIn();
      if (device.kind !== kind) {
        return new Promise(() => showSetup(client, "setup.wrongKind", { kind: device.kind }));
      }
      return client;
    } catch (error) {
      if (error instanceof CredentialsRejected) {
        return new Promise(() => showSetup(client, "setup.rejected"));
      }
      onNetworkTrouble(error);
      await sleep(delay);
      delay = Math.min(delay * 2, 5000);
    }
  }
}

/** The set-up form (it replaces the page's content); saving stores and reloads. */
export function showSetup(client, messageKey = null, params = {}) {
  const main = document.querySelector("main");
  if (!main || main.dataset.setup) return;
  main.dataset.setup = "true";
  const kindParams = { kind: params.kind ? t(`kind.${params.kind}`) : "" };
  const message = h("p", { class: "setup-error", role: "alert", "data-testid": "setup-error" });
  const render = () => {
    message.textContent = messageKey ? t(messageKey, kindParams) : "";
  };
  const deviceInput = h("input", { id: "setup-device", name: "device", required: true, autocomplete: "off" });
  const secretInput = h("input", {
    id: "setup-secret", name: "secret", type: "password", required: true, autocomplete: "off",
  });
  const form = h(
    "form",
    { class: "setup", "aria-labelledby": "setup-title" },
    h("h1", { id: "setup-title", "data-i18n": "setup.title" }),
    h("p", { "data-i18n": "setup.intro" }),
    message,
    h("label", { for: "setup-device", "data-i18n": "setup.deviceId" }),
    deviceInput,
    h("label", { for: "setup-secret", "data-i18n": "setup.secret" }),
    secretInput,
    h("button", { type: "submit", class: "primary", "data-i18n": "setup.save" }),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    client.store(deviceInput.value, secretInput.value);
    location.reload();
  });
  main.replaceChildren(form);
  translatePage(form);
  render();
  onLanguageChange(render);
  deviceInput.focus();
}
