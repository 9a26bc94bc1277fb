// The agent console's API client: the staff tokens (kept in this tab's sessionStorage, renewed
// at 80 % of their lifetime and once on a 401), calls with Accept-Language and Idempotency-Key,
// and what a refused call means in words.

import { slugFromPath, uuid4 } from "./dom.js";
import { language } from "./i18n.js";

export const SLUG = slugFromPath();
const API = "/api/v1";
const TENANT = `${API}/tenants/${encodeURIComponent(SLUG)}`;
const STORED = `smartqueue.console.${SLUG}`;

let tokens = null; // {access, refresh, expiresAt}
let refreshTimer = null;
let refreshing = null;
let sessionEnded = () => {};

/** ``listener(reasonKey)`` runs when the sign-in ends on its own (a refused refresh). */
export function onSessionEnded(listener) {
  sessionEnded = listener;
}

export function signedIn() {
  return tokens !== null;
}

/** Take up the tokens this tab kept: "valid", "refresh" (expired access token) or null. */
export function restoreTokens() {
  let stored = null;
  try {
    stored = JSON.parse(sessionStorage.getItem(STORED) || "null");
  } catch {
    stored = null;
  }
  if (!stored?.access || !stored.refresh) return null;
  tokens = stored;
  if (stored.expiresAt <= Date.now()) return "refresh";
  refreshTimer = setTimeout(refresh, Math.max(0, (stored.expiresAt - Date.now()) * 0.8));
  return "valid";
}

/** Sign in with email and password; the answer as ``send`` gives it (tokens kept on 200). */
export async function signInWith(email, password) {
  const answer = await send("POST", `${API}/auth/`, { email, password }, { auth: false });
  if (answer.status === 200) keepTokens(answer.body);
  return answer;
}

/** Revoke this sign-in (best effort) and forget its tokens. */
export async function signOutNow() {
  await send("POST", `${API}/auth/logout/`);
  forgetTokens();
}

// -- tokens ------------------------------------------------------------------------------------

export function keepTokens(answer) {
  tokens = {
    access: answer.access_token,
    refresh: answer.refresh_token,
    expiresAt: Date.now() + answer.expires_in * 1000,
  };
  sessionStorage.setItem(STORED, JSON.stringify(tokens));
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(refresh, answer.expires_in * 800); // at 80 % of the lifetime
}

export function forgetTokens() {
  tokens = null;
  sessionStorage.removeItem(STORED);
  clearTimeout(refreshTimer);
}

/** Renew the access token with the refresh token (once at a time); false when refused. */
export function refresh() {
  if (!tokens) return Promise.resolve(false);
  refreshing ??= (async () => {
    const answer = await send("POST", `${API}/auth/refresh/`, { refresh_token: tokens.refresh }, { auth: false });
    refreshing = null;
    if (answer.status === 200) {
      keepTokens(answer.body);
      return true;
    }
    if (answer.status === 0 || answer.status >= 500) return false;
    forgetTokens();
    sessionEnded("console.signIn.expired");
    return false;
  })();
  return refreshing;
}

// -- HTTP --------------------------------------------------------------------------------------

/** One API call; resolves to {status, body, retryAfter}; a network failure is status 0. A 401 is
 * retried once after renewing the token. */
export async function send(method, url, body, { auth = true, key = null, retried = false } = {}) {
  const headers = { "Accept-Language": language(), Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (auth && tokens) headers.Authorization = `Bearer ${tokens.access}`;
  if (key) headers["Idempotency-Key"] = key;
  let response;
  try {
    response = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    return { status: 0, body: null, retryAfter: null };
  }
  if (response.status === 401 && auth && !retried && (await refresh())) {
    return send(method, url, body, { auth, key, retried: true });
  }
  let parsed = null;
  try {
    parsed = response.status === 204 ? null : await response.json();
  } catch {
    parsed = null;
  }
  return { status: response.status, body: parsed, retryAfter: response.headers.get("Retry-After") };
}

export const tenant = (method, path, body, options) => send(method, `${TENANT}/${path}`, body, options);

/** Every item of a tenant list, page after page (the staff pages' lists are short). A refused
 * page is thrown as its answer, for the page to put into words. */
export async function everyItem(path) {
  const items = [];
  let cursor = null;
  do {
    const query = new URLSearchParams({ limit: "200" });
    if (cursor) query.set("cursor", cursor);
    const answer = await tenant("GET", `${path}?${query}`);
    if (answer.status !== 200) throw answer;
    items.push(...answer.body.items);
    cursor = answer.body.cursor;
  } while (cursor);
  return items;
}

/** A file of the tenant's API (an export), fetched with the token (a link could not carry the
 * Authorization header): {status, blob, body, retryAfter}, ``body`` the problem when refused,
 * status 0 on a network failure. A 401 is retried once after renewing the token. */
export async function tenantFile(path, retried = false) {
  const headers = { "Accept-Language": language() };
  if (tokens) headers.Authorization = `Bearer ${tokens.access}`;
  try {
    const response = await fetch(`${TENANT}/${path}`, { headers, cache: "no-store" });
    if (response.status === 401 && !retried && (await refresh())) return tenantFile(path, true);
    const retryAfter = response.headers.get("Retry-After");
    if (response.ok) return { status: response.status, blob: await response.blob(), body: null, retryAfter };
    let body = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    return { status: response.status, blob: null, body, retryAfter };
  } catch {
    return { status: 0, blob: null, body: null, retryAfter: null };
  }
}

/** A command with an Idempotency-Key: a lost answer is retried once with the same key, so the
 * API answers it again instead of acting twice. */
export async function command(method, path, body) {
  const key = uuid4();
  const answer = await tenant(method, path, body, { key });
  return answer.status === 0 ? tenant(method, path, body, { key }) : answer;
}

/** What a refused call means, as an i18n key and its parameters: never the raw answer. */
export function problem(answer, { queues = false } = {}) {
  const code = answer.body?.code;
  const seconds = Number.parseInt(answer.retryAfter, 10) || 1;
  if (answer.status === 0) return ["console.error.network"];
  if (answer.status === 204) return ["console.error.nobodyWaiting"];
  if (code === "agent_busy") return ["console.error.agentBusy"];
  if (code === "agent_unavailable") return ["console.error.agentUnavailable"];
  if (code === "illegal_transition") return ["console.error.illegalTransition"];
  if (code === "queue_not_accepting") return ["console.error.queueNotAccepting"];
  if (answer.status === 401) return ["console.signIn.expired"];
  if (answer.status === 403) return [queues ? "console.error.queuesForbidden" : "console.error.forbidden"];
  if (answer.status === 404) return ["console.error.notFound"];
  if (answer.status === 409) return ["console.error.conflict"];
  if (answer.status === 429) return ["console.error.tooMany", { seconds }];
  if (answer.status >= 500) return ["console.error.unavailable"];
  if (answer.status === 400 || answer.status === 422) {
    if (/no assigned queues/.test(answer.body?.detail || "")) return ["console.error.noQueues"];
    // The title is a sentence the API already translated (Accept-Language).
    return ["console.error.invalid", { reason: answer.body?.title || answer.status }];
  }
  return ["console.error.unknown", { status: answer.status }];
}

