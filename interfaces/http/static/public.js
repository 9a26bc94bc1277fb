// The public pages' API client (no token) and the translation of its problems.

import "./public_i18n.js";

export const API = "/api/v1/public";

/** A public API call; resolves to {status, body}. Network failures resolve to status 0. */
export async function call(method, path, body) {
  try {
    const response = await fetch(`${API}/${path}`, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
    let parsed = null;
    try {
      parsed = await response.json();
    } catch {
      parsed = null;
    }
    return { status: response.status, body: parsed };
  } catch {
    return { status: 0, body: null };
  }
}

/** The i18n key telling a customer what a refused call means. */
export function problemKey({ status, body }) {
  const code = body?.code;
  if (status === 0) return "error.network";
  if (code === "site_closed") return "error.siteClosed";
  if (code === "queue_full") return "error.queueFull";
  if (code === "join_code_required") return "error.codeRequired";
  if (code === "join_code_invalid") return "error.codeInvalid";
  if (code === "join_code_locked") return "error.codeLocked";
  if (status === 429) return "error.tooMany";
  if (status === 422 || status === 400) return "error.phone";
  if (code === "more_time_used") return "ticket.moreTimeUsed";
  if (status === 409) return "error.conflict";
  if (status === 503) return "error.busy";
  return "error.unknown";
}
