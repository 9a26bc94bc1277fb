"""Demo data for a new tenant: enough to call a ticket a minute after cloning."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Protocol
from uuid import UUID
from zoneinfo import ZoneInfo

from application.appointments import Appointments
from application.catalogue import Catalogue
from application.check_in import CheckIns
from application.context import CommandContext
from application.customers import Customers
from application.demo_history import HistorySummary, SettableClock, seed_history
from application.feedback import FEEDBACK_LINK, Feedbacks
from application.identity import Identity
from application.queues import Queues
from application.staffing import Staffing
from application.tickets import Tickets
from domain.agents import Agent
from domain.booking import local_day, slot_starts
from domain.hours import open_intervals


@dataclass(frozen=True)
class DemoAgent:
    """Credentials printed for the operator."""

    email: str
    password: str
    agent_id: UUID


@dataclass(frozen=True)
class DemoAppointment:
    """A booked appointment: its booking code (what the kiosk's check-in asks for)."""

    appointment_id: UUID
    service: str
    start: datetime
    code: str
    ticket: str | None = None
    """The number of the ticket its check-in issued; ``None`` while not checked in."""


@dataclass(frozen=True)
class DemoData:
    """What ``--with-demo-data`` created."""

    site_id: UUID
    fifo_queue_id: UUID
    priority_queue_id: UUID
    agents: list[DemoAgent]
    waiting_tickets: list[str]
    customer_email: str
    """The demo customer holding the first waiting ticket, told by email when it is called."""
    appointments: list[DemoAppointment]
    """Booked today and tomorrow; the first, starting within the next slot, is checked in."""
    feedback_ids: list[UUID]
    """The feedback given on the completed visits (CSAT, NPS, some with a comment)."""
    history: HistorySummary | None = None
    """The past days played before today's data (``None`` when none was asked for)."""


DEMO_AGENT_NAMES = ("Alice Martin", "Bruno Diallo")


def demo_agent_login(slug: str, index: int) -> tuple[str, str]:
    """The email and password of demo agent ``index`` (from 1): derived from the slug, so
    anyone who read this code knows them."""
    return f"agent{index}@{slug}.example", f"agent{index}-{slug}"


def known_demo_logins(slug: str, admin_email: str, admin_password: str) -> list[tuple[str, str]]:
    """Every sign-in of a demo tenant whose password is public: its admin and its agents."""
    agents = [demo_agent_login(slug, index) for index in range(1, len(DEMO_AGENT_NAMES) + 1)]
    return [(admin_email, admin_password), *agents]


def logins_that_still_work(identity: Identity, logins: list[tuple[str, str]]) -> list[str]:
    """The emails among ``logins`` of active accounts whose password is still the given one
    (checked against the stored hash; no sign-in is attempted, so no limiter counts it)."""
    still_open = []
    for email, password in logins:
        credential = identity.credentials.find_by_email(email)
        if credential is None or not credential.active:
            continue
        if identity.hasher.verify(credential.password_hash, password):
            still_open.append(email)
    return still_open


# The completed visits' answers: (CSAT 1-5, NPS 0-10, comment, tags). One promoter, one passive,
# one detractor: NPS 0, CSAT average 3.67.
DEMO_FEEDBACK = (
    (5, 10, "Quick and friendly, thank you.", ["staff"]),
    (4, 8, None, ["information"]),
    (2, 4, "I waited longer than the screen said.", ["waiting_time"]),
)


class DemoContexts(Protocol):
    """The contexts seeding uses (the composition root's container has them all)."""

    identity: Identity
    catalogue: Catalogue
    queues: Queues
    staffing: Staffing
    tickets: Tickets
    customers: Customers
    feedback: Feedbacks | None

    @property
    def appointments(self) -> Appointments: ...

    @property
    def check_ins(self) -> CheckIns: ...


def seed_demo_data(
    contexts: DemoContexts,
    context: CommandContext,
    slug: str,
    history_days: int = 0,
    clock: SettableClock | None = None,
) -> DemoData:
    """A site, two services, a FIFO and a priority queue, two agents, a few waiting tickets,
    a few completed visits with feedback and appointments today and tomorrow (one checked in).

    With ``history_days``, the open days among that many before today are played first
    (:mod:`application.demo_history`), through the commands at past instants: ``clock`` must
    be the clock the contexts were built with. Today's data is the same with or without them.

    The Accounts service's numbers stay for the README's walk-through (A-001 is the demo
    customer's, the next one issued is A-003): the visits and the check-in use Advice (B)."""
    if history_days < 0:
        raise ValueError("history_days cannot be negative")
    if history_days and clock is None:
        raise ValueError("the demo history needs the settable clock the contexts were built with")
    identity, catalogue, staffing = contexts.identity, contexts.catalogue, contexts.staffing
    site = catalogue.add_site(context, "Main branch", "Europe/Paris")
    accounts = catalogue.add_service(context, "Accounts", "A", target_wait_minutes=10)
    advice = catalogue.add_service(
        context, "Advice", "B", target_wait_minutes=20, expected_service_minutes=15
    )
    fifo = contexts.queues.open_queue(context, "Accounts", site.id, [accounts.id], "fifo")
    priority = contexts.queues.open_queue(context, "Advice", site.id, [advice.id], "priority")
    agents = []
    for index, name in enumerate(DEMO_AGENT_NAMES, start=1):
        email, password = demo_agent_login(slug, index)
        user = identity.create_user(context, email, password, name, "agent")
        profile = staffing.get_agent(context.tenant_id, Agent.create_id(user.id))
        staffing.assign_agent_queues(context, profile.id, [fifo.id, priority.id])
        agents.append(DemoAgent(email=email, password=password, agent_id=profile.id))
    history = None
    if history_days and clock is not None:
        agent_ids = [agent.agent_id for agent in agents]
        history = seed_history(
            contexts, context, clock, (fifo.id, priority.id), agent_ids, history_days, site.timezone
        )
    for index, agent in enumerate(agents, start=1):
        staffing.set_agent_status(context, agent.agent_id, "available", counter=str(index))
    feedback_ids = _completed_visits(contexts, context, priority.id, agents[-1].agent_id)
    # The first ticket in line has a customer who chose email: the walk-through's first call
    # sends them "it's your turn", which `smartqueue dev`'s mail catcher shows.
    customer = contexts.customers.register_customer(
        context, "Ada Lovelace", email=f"ada@{slug}.example", channels=["email"], language="en"
    )
    tickets = [
        contexts.tickets.issue_ticket(context, fifo.id, customer_id=customer.id, channel="kiosk"),
        contexts.tickets.issue_ticket(context, fifo.id, channel="web"),
        contexts.tickets.issue_ticket(context, priority.id, channel="kiosk"),
        contexts.tickets.issue_ticket(context, priority.id, priority=5, channel="counter"),
    ]
    catalogue.change_service(context, accounts.id, booking={"capacity": 2})
    appointments = _appointments(contexts, context, site.id, accounts.id, advice.id)
    return DemoData(
        site_id=site.id,
        fifo_queue_id=fifo.id,
        priority_queue_id=priority.id,
        agents=agents,
        waiting_tickets=[ticket.number for ticket in tickets],
        customer_email=customer.email or "",
        appointments=appointments,
        feedback_ids=feedback_ids,
        history=history,
    )


def _completed_visits(
    contexts: DemoContexts, context: CommandContext, queue_id: UUID, agent_id: UUID
) -> list[UUID]:
    """Visits the agent called, served and closed, each answered with :data:`DEMO_FEEDBACK`."""
    feedback_ids = []
    for csat, nps, comment, tags in DEMO_FEEDBACK:
        contexts.tickets.issue_ticket(context, queue_id, channel="kiosk")
        called = contexts.staffing.call_next(context, agent_id, queue_id)
        if called is None:  # pragma: no cover - the ticket just issued is the only one waiting
            raise RuntimeError("the demo visit's ticket was not called")
        contexts.tickets.start_ticket(context, called.id)
        closed = contexts.tickets.close_ticket(context, called.id)
        if contexts.feedback is None or closed.finished_at is None:
            continue
        link = contexts.feedback.feedback_link(context.tenant_id, closed.id, closed.finished_at)
        given = contexts.feedback.submit_feedback(
            link.removeprefix(FEEDBACK_LINK.format(token="")),
            csat=csat,
            nps=nps,
            comment=comment,
            tags=tags,
        )
        feedback_ids.append(given.id)
    return feedback_ids


def _appointments(
    contexts: DemoContexts,
    context: CommandContext,
    site_id: UUID,
    accounts_id: UUID,
    advice_id: UUID,
) -> list[DemoAppointment]:
    """The next slot's Advice appointment, checked in (its ticket joins the priority queue), one
    an hour later, and three tomorrow morning."""
    tz = ZoneInfo("Europe/Paris")
    now = contexts.appointments.store.clock()
    today = local_day(now, tz)
    slots = [
        start
        for day in (today, today + timedelta(days=1))
        for start, _ in slot_starts(open_intervals(None, [], day, tz), 15)
        if start > now
    ]
    tomorrow = {
        start.astimezone(tz).time(): start
        for start in slots
        if local_day(start, tz) == today + timedelta(days=1)
    }
    wanted = [
        ("Advice", advice_id, slots[0]),
        ("Advice", advice_id, slots[4]),
        ("Accounts", accounts_id, tomorrow[time(9, 0)]),
        ("Accounts", accounts_id, tomorrow[time(9, 0)]),  # its second place
        ("Advice", advice_id, tomorrow[time(10, 30)]),
    ]
    booked = []
    for service, service_id, start in wanted:
        view = contexts.appointments.book_appointment(context, site_id, service_id, start)
        booked.append(DemoAppointment(view.id, service, view.start, view.code))
    checked_in = contexts.check_ins.check_in_appointment(
        context, booked[0].appointment_id, channel="kiosk"
    )
    booked[0] = DemoAppointment(
        booked[0].appointment_id,
        booked[0].service,
        booked[0].start,
        booked[0].code,
        ticket=checked_in.ticket.number,
    )
    return booked
