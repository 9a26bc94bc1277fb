"""Bodies and answers of the public API (remote join and "my ticket"): nothing personal goes
out, and what comes in is bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from application.public_views import Joined
from interfaces.http.schemas import Body

CustomerName = Annotated[str, msgspec.Meta(max_length=200, examples=["Ada"])]
Phone = Annotated[str, msgspec.Meta(max_length=40, examples=["+33 6 12 34 56 78"])]
Code = Annotated[str, msgspec.Meta(max_length=12, examples=["042917"])]


class PublicJoin(Body):
    """Join a site's service from the join page. A name or phone, if given, becomes a customer
    profile of the tenant (personal data outside the events, erasable); a phone is written
    with its country code (``+33 ...``)."""

    service_id: UUID
    name: CustomerName | None = None
    phone: Phone | None = None
    language: Literal["fr", "en"] | None = None
    code: Code | None = None
    """The six-digit code sent to ``phone``, where the site's tenant requires one
    (``join_code`` ``sms`` on the site's page)."""


class PublicJoinCodeRequest(Body):
    """Ask for a one-time code by SMS before joining, where the site's tenant requires one.
    The SMS is written in ``language`` (else the request's ``Accept-Language``)."""

    phone: Phone
    language: Literal["fr", "en"] | None = None


class PublicJoinCodeSent(msgspec.Struct, kw_only=True):
    """A code is on its way to the phone: give it with the join within ``expires_in_seconds``
    (at most ``attempts`` wrong guesses)."""

    expires_in_seconds: int
    attempts: int


class PublicJoinSettingsPut(Body):
    """A tenant's remote-join settings, whole."""

    join_code: Literal["off", "sms"]
    """``sms``: a remote join needs a one-time code sent by SMS to the customer's phone."""


class PushRegistration(Body):
    """The device registration token the customer's app got from FCM, for pushes about this
    ticket (and the customer's later ones)."""

    device_token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


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


Email = Annotated[str, msgspec.Meta(max_length=254, examples=["ada@example.com"])]
HoldToken = Annotated[str, msgspec.Meta(max_length=200)]


class PublicHoldRequest(Body):
    """Hold a place of a slot while confirming: the service and the slot's start, with its
    offset (as the availability lists it)."""

    service_id: UUID
    start: datetime


class PublicBookingRequest(Body):
    """Confirm a hold. The name and the phone or email (one is needed) become a customer
    profile of the tenant (personal data outside the events, erasable)."""

    hold_token: HoldToken
    name: CustomerName
    phone: Phone | None = None
    email: Email | None = None
    language: Literal["fr", "en"] | None = None


class PublicRescheduleRequest(Body):
    """Move an appointment to the slot starting at ``start`` (with its offset)."""

    start: datetime
