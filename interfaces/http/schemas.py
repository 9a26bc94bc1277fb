"""Request bodies. Unknown fields are refused, so a typo is an error rather than a silent no-op."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal, TypeVar
from uuid import UUID

import msgspec
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from msgspec import UNSET, UnsetType

from application.tickets import CHANNELS
from application.views import UserView
from domain.agents import AgentStatus
from domain.policies import Placement, Policy
from domain.queues import MAX_AUTO_NO_SHOW_MINUTES, MAX_PRIORITY, AppointmentPlacement
from domain.tenancy import Role

T = TypeVar("T")

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
TimeZone = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
ServiceCode = Annotated[str, msgspec.Meta(pattern="^[A-Z]{1,3}$", examples=["A", "DEP"])]
Minutes = Annotated[int, msgspec.Meta(ge=1, le=1440)]
ServiceIds = Annotated[list[UUID], msgspec.Meta(min_length=1, max_length=50)]
ISO_DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
IsoDate = Annotated[str, msgspec.Meta(pattern=ISO_DATE_PATTERN, examples=["2026-12-25"])]
OPENS = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
CLOSES = r"^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$"


def _doc(**schema: Any) -> dict[str, Any]:
    """``extra_json_schema`` that documents ``schema`` in the OpenAPI document (Litestar reads
    its ``extra`` key; Litestar leaves a list's item constraints out, so a list states them
    here) without making msgspec enforce anything more."""
    return {"extra": schema}


ClosedDates = Annotated[
    list[IsoDate],
    msgspec.Meta(
        max_length=400,
        extra_json_schema=_doc(
            items=Schema(
                type=OpenAPIType.STRING, format=OpenAPIFormat.DATE, pattern=ISO_DATE_PATTERN
            )
        ),
    ),
]


def one_of(values: Iterable[object]) -> Any:
    """A ``Literal`` of the values' strings: the OpenAPI document lists them as an enum, and a
    value outside them is refused while decoding the body (400, naming the value)."""
    return Literal[tuple(str(value) for value in values)]  # type: ignore[valid-type]


Algorithm = one_of(Policy)
RoleName = one_of(Role)
Channel = one_of(sorted(CHANNELS))
PlacementName = one_of(Placement)
AppointmentPlacementName = one_of(AppointmentPlacement)
AgentStatusName = one_of(AgentStatus)
Scopes = Annotated[list[str], msgspec.Meta(max_length=32)]
MAX_AGENT_QUEUES = 50  # the queues an agent serves, as assign-queues also bounds them


def given(value: T | UnsetType) -> T | None:
    """A PATCH field's value, or ``None`` when the client left it out (the command keeps it)."""
    return None if value is UNSET else value  # type: ignore[return-value]


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of request bodies. A NUL character anywhere in a body is refused while decoding:
    no field means it, and PostgreSQL text cannot store it."""

    def __post_init__(self) -> None:
        for name in self.__struct_fields__:
            if _holds_nul(getattr(self, name)):
                raise ValueError(f"{name} contains a NUL character")


def _holds_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_holds_nul(item) for item in value)
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    return False


class Login(Body):
    """Email and password."""

    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Annotated[str, msgspec.Meta(max_length=1024)]


class Tokens(msgspec.Struct, kw_only=True):
    """A short-lived access token and the refresh token that renews it (OAuth 2 field names)."""

    access_token: str
    refresh_token: str
    token_type: str = "Bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    """Seconds until the access token expires; renew it with POST /api/v1/auth/refresh/."""


class LoginResult(Tokens, kw_only=True):
    """Tokens and who they belong to. ``token`` repeats ``access_token`` for older clients."""

    token: str
    user: UserView


class Refresh(Body):
    """A refresh token to exchange for new tokens."""

    refresh_token: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]


class TenantCreate(Body):
    """A new tenant and its first administrator."""

    name: Name
    slug: Annotated[str, msgspec.Meta(min_length=1, max_length=63)]
    admin_email: Annotated[str, msgspec.Meta(max_length=254)]
    admin_password: Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]


class OpeningIntervalBody(Body):
    """Open from ``open`` to ``close``, local ``HH:MM`` times (``close`` may be ``24:00``)."""

    # The patterns are documented, not enforced while decoding: domain/hours.py answers a time
    # that breaks them 422, naming the day and interval.
    open: Annotated[
        str, msgspec.Meta(max_length=5, examples=["09:00"], extra_json_schema=_doc(pattern=OPENS))
    ]
    close: Annotated[
        str, msgspec.Meta(max_length=5, examples=["17:30"], extra_json_schema=_doc(pattern=CLOSES))
    ]


Intervals = Annotated[list[OpeningIntervalBody], msgspec.Meta(max_length=12)]


class OpeningHours(Body):
    """Opening intervals per weekday; a day left out or empty is closed."""

    monday: Intervals = []
    tuesday: Intervals = []
    wednesday: Intervals = []
    thursday: Intervals = []
    friday: Intervals = []
    saturday: Intervals = []
    sunday: Intervals = []


def plain_hours(hours: OpeningHours | UnsetType | None) -> dict[str, list[dict[str, Any]]] | None:
    """Opening hours as the plain mapping the application takes (``None`` when not given)."""
    if hours is None or isinstance(hours, UnsetType):
        return None
    return {
        day: [{"open": interval.open, "close": interval.close} for interval in intervals]
        for day in hours.__struct_fields__
        if (intervals := getattr(hours, day))
    }


class SiteCreate(Body):
    """A new site. Without ``opening_hours`` (or with ``null``) it is open at all times until
    they are set; once given, weekdays left out are closed and tickets are refused then."""

    name: Name
    timezone: TimeZone = "UTC"
    opening_hours: OpeningHours | None = None
    closed_dates: ClosedDates = []


class SitePatch(Body):
    """Change a site: only the fields sent change. ``opening_hours`` replaces the whole week."""

    name: Name | UnsetType = UNSET
    timezone: TimeZone | UnsetType = UNSET
    opening_hours: OpeningHours | UnsetType = UNSET
    closed_dates: ClosedDates | UnsetType = UNSET


class ServiceCreate(Body):
    """A new service."""

    name: Name
    code: ServiceCode
    target_wait_minutes: Minutes = 15
    expected_service_minutes: Minutes = 5


class ServicePatch(Body):
    """Change a service: only the fields sent change. The code cannot change (sending the
    current one is accepted)."""

    name: Name | UnsetType = UNSET
    code: ServiceCode | UnsetType = UNSET
    target_wait_minutes: Minutes | UnsetType = UNSET
    expected_service_minutes: Minutes | UnsetType = UNSET
    booking: BookingRulesPatch | UnsetType = UNSET


class BookingRulesPatch(Body):
    """Booking rules to change (only those sent); out-of-range values are refused with 422
    naming the rule."""

    slot_minutes: int | UnsetType = UNSET
    capacity: int | UnsetType = UNSET
    lead_minutes: int | UnsetType = UNSET
    horizon_days: int | UnsetType = UNSET
    early_minutes: int | UnsetType = UNSET
    late_minutes: int | UnsetType = UNSET
    cancel_cutoff_minutes: int | UnsetType = UNSET
    per_customer_per_day: int | UnsetType = UNSET
    hold_minutes: int | UnsetType = UNSET

    def sent(self) -> dict[str, int]:
        """The rules the client named."""
        return {
            name: getattr(self, name)
            for name in self.__struct_fields__
            if getattr(self, name) is not UNSET
        }


class QueueCreate(Body):
    """A new queue."""

    name: Name
    site_id: UUID
    service_ids: ServiceIds
    algorithm: Algorithm = "fifo"


AutoNoShowMinutes = Annotated[int, msgspec.Meta(ge=1, le=MAX_AUTO_NO_SHOW_MINUTES)]
AppointmentPriority = Annotated[int, msgspec.Meta(ge=1, le=MAX_PRIORITY)]


class QueuePatch(Body):
    """Reconfigure a queue: only the fields sent change."""

    name: Name | UnsetType = UNSET
    service_ids: ServiceIds | UnsetType = UNSET
    algorithm: Algorithm | UnsetType = UNSET
    auto_no_show_minutes: AutoNoShowMinutes | UnsetType | None = UNSET
    """Minutes after a call before an unstarted ticket is marked no-show; null turns it off."""
    appointment_placement: AppointmentPlacementName | UnsetType = UNSET
    """How an on-time checked-in appointment joins: ``booked_time`` (placed by its booked time)
    or ``priority`` (its ticket gets ``appointment_priority``; a ``priority`` queue only)."""
    appointment_priority: AppointmentPriority | UnsetType = UNSET
    """The priority of those tickets under ``priority`` placement (needed with it)."""


class UserCreate(Body):
    """A new staff user; agents may be given their queues and counter at once."""

    email: Annotated[str, msgspec.Meta(max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]
    name: Name
    role: RoleName = "agent"
    queue_ids: Annotated[list[UUID], msgspec.Meta(max_length=MAX_AGENT_QUEUES)] = []


class UserPatch(Body):
    """Change a user: only the fields sent change. ``scopes`` replaces the extra scopes."""

    name: Name | UnsetType = UNSET
    role: RoleName | UnsetType = UNSET
    scopes: Scopes | UnsetType = UNSET


class TicketIssue(Body):
    """Take a ticket."""

    queue_id: UUID
    service_id: UUID | None = None
    customer_id: UUID | None = None
    priority: Annotated[int, msgspec.Meta(ge=0, le=10)] = 0
    channel: Channel = "api"
    override_hours: bool = False
    """Issue even while the site is closed (``queues:manage``; recorded on the ticket)."""


class TicketTransfer(Body):
    """Move a ticket to another queue."""

    queue_id: UUID
    placement: PlacementName = "last"


class TicketCancel(Body):
    """Withdraw a ticket."""

    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class CallNext(Body):
    """Call the next ticket of a queue, or of the agent's queues."""

    queue_id: UUID | None = None


class AgentStatusChange(Body):
    """The agent's availability and counter."""

    status: AgentStatusName
    counter: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None


class AgentCounter(Body):
    """The counter a manager seats an agent at; ``null`` for none."""

    counter: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None


class AgentQueues(Body):
    """The queues an agent calls from."""

    queue_ids: Annotated[list[UUID], msgspec.Meta(max_length=50)]


class Health(msgspec.Struct):
    """Liveness or readiness."""

    status: str
    checks: dict[str, str] = {}
    projection_lag: dict[str, int] | None = None
    """Readiness: events each read model has still to apply (it does not make the API unready:
    queries still answer, from slightly older data)."""
    relay_lag: int | None = None
    """Readiness, when a Kafka broker is configured: events the relay has still to publish."""
    roles: dict[str, str] | None = None
    """Readiness: each projection (and the relay, with Kafka configured): ``ok``, or
    ``silent``/``stalled``/``behind`` with the reason. Any but ``ok`` makes the status
    ``degraded`` (still 200: the API serves, from older data)."""
    dead_letters: dict[str, int] | None = None
    """Readiness: the events each projection set aside (only those with some); any makes the
    status ``degraded``."""


# -- customers -------------------------------------------------------------------------------------

HourMinute = Annotated[str, msgspec.Meta(pattern=r"^([01]\d|2[0-3]):[0-5]\d$", examples=["22:00"])]
Phone = Annotated[str, msgspec.Meta(min_length=1, max_length=40, examples=["+33 6 12 34 56 78"])]
PhoneRegion = Annotated[str, msgspec.Meta(min_length=2, max_length=2, examples=["FR"])]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
Metadata = dict[str, str | int | float | bool | None]
Channels = Annotated[list[str], msgspec.Meta(max_length=3, examples=[["sms", "email"]])]
PushToken = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=4096,
        description="The device registration token the customer's app got from FCM",
    ),
]


class QuietHours(Body):
    """No notifications between ``start`` and ``end`` (local time; may span midnight)."""

    start: HourMinute
    end: HourMinute


class CustomerPreferences(Body):
    """Notification channels among ``sms``, ``email``, ``push``; language ``fr`` or ``en``."""

    channels: Channels = []
    language: str = "en"
    quiet_hours: QuietHours | None = None


class CustomerCreate(Body):
    """A new customer. A national phone number needs ``phone_region`` (ISO code like FR)."""

    name: Name
    phone: Phone | None = None
    phone_region: PhoneRegion | None = None
    email: Email | None = None
    metadata: Metadata = {}
    preferences: CustomerPreferences | None = None
    push_token: PushToken | None = None


class CustomerPreferencesPatch(Body):
    """Only the preferences named are changed."""

    channels: Channels | msgspec.UnsetType = msgspec.UNSET
    language: str | msgspec.UnsetType = msgspec.UNSET
    quiet_hours: QuietHours | msgspec.UnsetType | None = msgspec.UNSET


class CustomerPatch(Body):
    """Only the fields named are changed; ``null`` clears the phone, email, quiet hours or push
    token."""

    name: Name | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType | None = msgspec.UNSET
    phone_region: PhoneRegion | None = None
    email: Email | msgspec.UnsetType | None = msgspec.UNSET
    metadata: Metadata | msgspec.UnsetType = msgspec.UNSET
    preferences: CustomerPreferencesPatch | msgspec.UnsetType = msgspec.UNSET
    push_token: PushToken | msgspec.UnsetType | None = msgspec.UNSET


WebhookUrl = Annotated[str, msgspec.Meta(min_length=8, max_length=2000)]
EventTypes = Annotated[
    list[Annotated[str, msgspec.Meta(min_length=3, max_length=100)]],
    msgspec.Meta(min_length=1, max_length=100),
]
WebhookSecret = Annotated[str, msgspec.Meta(min_length=16, max_length=200)]


class WebhookCreate(Body):
    """A subscription: the receiver's URL, the published event types it wants (as in the event
    contract, ``Ticket.Called``), and optionally its own signing secret (else one is made)."""

    url: WebhookUrl
    event_types: EventTypes
    secret: WebhookSecret | None = None


class WebhookPatch(Body):
    """Only the fields named are changed; ``active: false`` pauses deliveries."""

    url: WebhookUrl | msgspec.UnsetType = msgspec.UNSET
    event_types: EventTypes | msgspec.UnsetType = msgspec.UNSET
    secret: WebhookSecret | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
