"""Bodies and answers of the public API (remote join and "my ticket"): nothing personal goes
out, and what comes in is bounded."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

import msgspec

from application.public_views import Joined
from interfaces.http.schemas import Body

CustomerName = Annotated[str, msgspec.Meta(max_length=200, examples=["Ada"])]
Phone = Annotated[str, msgspec.Meta(max_length=40, examples=["+33 6 12 34 56 78"])]


class PublicJoin(Body):
    """Join a site's service from the join page. A name or phone, if given, becomes a customer
    profile of the tenant (personal data outside the events, erasable); a phone is written
    with its country code (``+33 ...``)."""

    service_id: UUID
    name: CustomerName | None = None
    phone: Phone | None = None
    language: Literal["fr", "en"] | None = None


class JoinedTicket(msgspec.Struct, kw_only=True):
    """The new ticket, as the customer sees it."""

    number: str
    status: str
    position: int | None
    eta_seconds: int | None


class PublicJoined(msgspec.Struct, kw_only=True):
    """A ticket taken remotely: ``token`` is the only way back to it (``url`` is its page)."""

    ticket: JoinedTicket
    token: str
    url: str

    @classmethod
    def of(cls, joined: Joined) -> PublicJoined:
        ticket = joined.ticket
        return cls(
            ticket=JoinedTicket(
                number=ticket.number,
                status=ticket.status,
                position=ticket.position,
                eta_seconds=ticket.eta_seconds,
            ),
            token=joined.token,
            url=joined.url,
        )
