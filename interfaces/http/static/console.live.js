// The staff pages' live sockets (docs/live.md), the console's agent socket and the dashboard's
// queue and agent sockets: a ticket from POST ws-tickets/, then WS /ws/tenants/{slug}/{path}/,
// reopened with back-off (0.5 s doubling to 5 s; again from 0.5 s once a snapshot came) on any
// close but 4403/4404, at once on 4409 (the agent's queues changed), after renewing the token on
// 4401, and when silent (not even a heartbeat) for 15 s.

import { SLUG, refresh, signedIn, tenant } from "./console.api.js";
import { sleep } from "./dom.js";

const SILENCE_MS = 15_000;
const FINAL = new Set([4403, 4404]);

/** Follow ``WS /ws/tenants/{slug}/{path}/`` (``agents/{id}``, ``queues/{id}``): ``onMessage(parsed)``
 * for each message, ``onOpen()`` once a snapshot came, ``onClosed(code)`` on each close. Returns a
 * function that stops. */
export function follow(path, { onMessage, onOpen = () => {}, onClosed = () => {} }) {
  let stopped = false;
  let socket = null;
  (async () => {
    let backoff = 500;
    while (!stopped && signedIn()) {
      const code = await open(path, (opened) => (socket = opened), (message) => {
        if (stopped) return;
        if (message.type === "snapshot") {
          backoff = 500;
          onOpen();
        }
        onMessage(message);
      });
      socket = null;
      if (stopped) return;
      onClosed(code);
      if (FINAL.has(code)) return;
      if (code === 4401 && !(await refresh())) return;
      if (code === 4409) backoff = 500; // an agent's queues changed: follow the new ones at once
      await sleep(backoff);
      backoff = Math.min(backoff * 2, 5000);
    }
  })();
  return () => {
    stopped = true;
    socket?.close();
  };
}

async function open(path, opened, deliver) {
  const ticket = await tenant("POST", "ws-tickets/");
  if (ticket.status !== 201) return ticket.status === 401 ? 4401 : 1013;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}/ws/tenants/${encodeURIComponent(SLUG)}/${path}/`;
  return new Promise((resolve) => {
    const socket = new WebSocket(`${url}?ticket=${encodeURIComponent(ticket.body.ticket)}`);
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
        return; // not JSON: ignored, like any message a client does not understand
      }
      deliver(message);
    };
    socket.onclose = (event) => {
      clearTimeout(watchdog);
      resolve(event.code);
    };
  });
}
