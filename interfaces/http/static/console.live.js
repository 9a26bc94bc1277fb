// The agent's live socket: a ticket from POST ws-tickets/, then WS /ws/tenants/{slug}/agents/{id}/
// (docs/live.md), reopened with back-off on any close but 4403/4404, at once on 4409 (my queues
// changed), after renewing the token on 4401, and when silent (not even a heartbeat) for 15 s.

import { SLUG, refresh, signedIn, tenant } from "./console.api.js";
import { sleep } from "./dom.js";

const SILENCE_MS = 15_000;
const FINAL = new Set([4403, 4404]);

/** Follow agent ``agentId``: ``onMessage(parsed)`` for every message, ``onClosed(code)`` for
 * every close. Returns a function that stops following. */
export function follow(agentId, { onMessage, onClosed }) {
  let stopped = false;
  let socket = null;
  (async () => {
    let backoff = 500;
    while (!stopped && signedIn()) {
      const code = await open(agentId, (opened) => (socket = opened), (message) => {
        if (!stopped) onMessage(message);
      });
      socket = null;
      if (stopped) return;
      onClosed(code);
      if (FINAL.has(code)) return;
      if (code === 4401 && !(await refresh())) return;
      if (code === 4409) backoff = 500; // follow the new queues at once
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 5000);
    }
  })();
  return () => {
    stopped = true;
    socket?.close();
  };
}

/** Open one socket and resolve with its close code once it closes. */
async function open(agentId, opened, deliver) {
  const ticket = await tenant("POST", "ws-tickets/");
  if (ticket.status !== 201) return ticket.status === 401 ? 4401 : 1013;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const path = `/ws/tenants/${encodeURIComponent(SLUG)}/agents/${agentId}/`;
  return new Promise((resolve) => {
    const socket = new WebSocket(`${scheme}//${location.host}${path}?ticket=${encodeURIComponent(ticket.body.ticket)}`);
    opened(socket);
    let watchdog = null;
    const listen = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => socket.close(), SILENCE_MS);
    };
    listen();
    socket.onmessage = (event) => {
      listen();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return; // not JSON: clients ignore what they do not understand
      }
      deliver(message);
    };
    socket.onclose = (event) => {
      clearTimeout(watchdog);
      resolve(event.code);
    };
  });
}
