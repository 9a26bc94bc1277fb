"""How the server closes a live WebSocket, and what each code tells the client.

4000-4999 are the application's: the HTTP status they stand for, plus 4000. The AsyncAPI
document (:mod:`interfaces.asyncapi`) publishes :data:`CLOSE_CODES` (the staff sockets) and
:data:`PUBLIC_CLOSE_CODES` (a customer's ticket socket).
"""

from __future__ import annotations

UNAUTHORIZED = 4401
FORBIDDEN = 4403
NOT_FOUND = 4404
LAGGING = 4408
RESUBSCRIBE = 4409
UNAVAILABLE = 1013  # the WebSocket standard's "try again later"
TOO_MANY_SOCKETS = 4429
TOO_MANY_SOCKETS_MEANING = (
    "the token already holds as many open sockets as allowed (SMARTQUEUE_WS_MAX_PER_TOKEN): "
    "close one, or sign in again for another token"
)
CLOSE_CODES = {
    UNAUTHORIZED: "no, used or expired ticket; or the token behind it expired or was revoked: "
    "sign in again, then reconnect",
    FORBIDDEN: "the token lacks the scope, or a display asked for another site's queue",
    NOT_FOUND: "no such queue or agent in this tenant (another tenant's included)",
    LAGGING: "the client did not take its changes fast enough: reconnect",
    RESUBSCRIBE: "what the socket follows changed (an agent's queues): reconnect",
    UNAVAILABLE: "Redis or the database unreachable: reconnect with back-off",
    TOO_MANY_SOCKETS: TOO_MANY_SOCKETS_MEANING,
}
PUBLIC_CLOSE_CODES = {
    NOT_FOUND: "no such ticket: the link is malformed, forged or expired (it expires with the "
    "ticket's day); do not reconnect",
    RESUBSCRIBE: "the ticket moved to another queue: reconnect",
    LAGGING: "the client did not take its changes fast enough: reconnect",
    UNAVAILABLE: "Redis or the database unreachable: reconnect with back-off",
    TOO_MANY_SOCKETS: "this ticket already has as many open sockets as allowed "
    "(SMARTQUEUE_WS_MAX_PER_TOKEN): close one",
}
"""How the server closes a customer's ticket socket (``/ws/public/tickets/{token}/``)."""
