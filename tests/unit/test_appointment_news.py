"""What the notifier records and queues for an appointment event (with an in-memory ledger and
job queue): the confirmation at once and the timed messages held until their time, the same
ledger rows when the event is handled again, nothing for an appointment without a customer or
a kind the tenant switched off, and the check a held row gets when it comes due."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from dramatiq.brokers.stub import StubBroker

from application.appointment_views import AppointmentView
from application.notification_templates import TenantNotificationSettings
from application.views import (
    BookingRulesView,
    CustomerView,
    PreferencesView,
    ServiceView,
    SiteView,
)
from domain.delivery import DeliveryStatus
from domain.errors import NotFound
from domain.messages import MessageKind
from infrastructure.notify.appointment_news import AppointmentEnvelope, AppointmentNews
from infrastructure.notify.jobs import DeliveryJobs
from infrastructure.notify.ledger_rows import LedgerEntry
from infrastructure.settings import load_settings

K = MessageKind
TENANT = uuid.UUID(int=1)
NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
START = datetime(2026, 12, 7, 13, 30, tzinfo=UTC)
CUSTOMER = uuid.UUID(int=7)


class Ledger:
    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, LedgerEntry] = {}

    def record_new(self, entries: list[LedgerEntry]) -> set[uuid.UUID]:
        added = {e.message_id for e in entries if e.message_id not in self.rows}
        self.rows.update({e.message_id: e for e in entries if e.message_id in added})
        return added

    def queued_among(self, tenant_id: uuid.UUID, ids: list[uuid.UUID]) -> set[uuid.UUID]:
        waiting = (DeliveryStatus.QUEUED, DeliveryStatus.HELD)
        return {i for i in ids if i in self.rows and self.rows[i].delivery.status in waiting}


class Jobs:
    def __init__(self) -> None:
        self.queued: list[tuple[uuid.UUID, datetime | None]] = []

    def enqueue(self, tenant_id, message_id, not_before=None) -> None:
        self.queued.append((message_id, not_before))


class Facts:
    def __init__(self, appointment: AppointmentView) -> None:
        self.appointment = appointment

    def get_appointment(self, tenant_id, appointment_id) -> AppointmentView:
        if appointment_id != self.appointment.id:
            raise NotFound("no such appointment")
        return self.appointment

    def get_service(self, tenant_id, service_id) -> ServiceView:
        rules = BookingRulesView(
            slot_minutes=15,
            capacity=1,
            lead_minutes=0,
            horizon_days=60,
            early_minutes=30,
            late_minutes=10,
            cancel_cutoff_minutes=0,
            per_customer_per_day=1,
        )
        return ServiceView(
            id=service_id,
            name="Passeports",
            code="PAS",
            target_wait_minutes=10,
            expected_service_minutes=5,
            booking=rules,
        )

    def get_site(self, tenant_id, site_id) -> SiteView:
        return SiteView(
            id=site_id, name="Mairie", timezone="Europe/Paris", opening_hours=None, closed_dates=[]
        )

    def get_customer(self, tenant_id, customer_id) -> CustomerView:
        return CustomerView(
            id=customer_id,
            name="Jeanne",
            phone=None,
            email="jeanne@example.org",
            metadata={},
            preferences=PreferencesView(channels=["email"], language="fr", quiet_hours=None),
            created_at=NOW,
        )


class Setup:
    def __init__(self, **settings: object) -> None:
        fields: dict[str, object] = {
            "kinds": {},
            "turn_near_position": 3,
            "turn_near_eta_minutes": None,
        }
        fields.update(settings)
        self.settings = TenantNotificationSettings(**fields)  # type: ignore[arg-type]

    def template_for(self, tenant_id, kind, channel, language):
        return None

    def get_settings(self, tenant_id) -> TenantNotificationSettings:
        return self.settings


def appointment(customer_id: uuid.UUID | None = CUSTOMER) -> AppointmentView:
    return AppointmentView(
        id=uuid.UUID(int=5),
        site_id=uuid.UUID(int=2),
        service_id=uuid.UUID(int=3),
        day="2026-12-07",
        start=START,
        end=START + timedelta(minutes=15),
        code="PAS-K7QMX",
        status="booked",
        customer_id=customer_id,
        cancelled_at=None,
    )


def news(facts: Facts, setup: Setup | None = None) -> tuple[AppointmentNews, Ledger, Jobs]:
    ledger, jobs = Ledger(), Jobs()
    told = AppointmentNews(
        facts,
        ledger,  # type: ignore[arg-type]
        jobs,  # type: ignore[arg-type]
        load_settings({}).notify,
        setup=setup or Setup(),  # type: ignore[arg-type]
        link=lambda tenant_id, a: f"https://q.example/a/{a.id}",
        clock=lambda: NOW,
    )
    return told, ledger, jobs


def event(name: str, version: int = 1) -> AppointmentEnvelope:
    return AppointmentEnvelope(f"Appointment.{name}", TENANT, uuid.UUID(int=5), version, NOW)


def test_a_booking_confirms_at_once_and_holds_its_reminders_and_check_in_until_their_time():
    told, ledger, jobs = news(Facts(appointment()))

    told.handle(event("Booked"))

    rows = sorted(ledger.rows.values(), key=lambda e: e.delivery.not_before or NOW)
    assert [(r.delivery.kind, r.delivery.status, r.delivery.not_before) for r in rows] == [
        (K.APPOINTMENT_CONFIRMED, DeliveryStatus.QUEUED, None),
        (K.APPOINTMENT_REMINDER, DeliveryStatus.HELD, START - timedelta(days=1)),
        (K.APPOINTMENT_REMINDER, DeliveryStatus.HELD, START - timedelta(hours=1)),
        (K.APPOINTMENT_CHECK_IN_OPEN, DeliveryStatus.HELD, START - timedelta(minutes=30)),
    ]
    assert {(r.appointment_id, r.appointment_start) for r in rows} == {(uuid.UUID(int=5), START)}
    assert sorted(jobs.queued, key=lambda q: q[1] or NOW) == [
        (r.message_id, r.delivery.not_before) for r in rows
    ]
    confirmation = rows[0].body
    assert confirmation is not None
    assert confirmation.subject == "Rendez-vous confirmé le lundi 7 décembre à 14:30"
    assert "Passeports" in confirmation.text and "PAS-K7QMX" in confirmation.text
    assert "https://q.example/a/" in confirmation.text


def test_the_same_event_handled_again_adds_nothing_and_queues_only_what_still_waits():
    told, ledger, jobs = news(Facts(appointment()))
    told.handle(event("Booked"))
    first = dict(ledger.rows)
    for entry in ledger.rows.values():
        if entry.delivery.kind is K.APPOINTMENT_CONFIRMED:
            entry.delivery.status = DeliveryStatus.SENT
    jobs.queued.clear()

    told.handle(event("Booked"))

    assert ledger.rows.keys() == first.keys()
    assert len(jobs.queued) == 3  # the held ones again; the sent confirmation not


def test_an_appointment_without_a_customer_or_a_kind_switched_off_sends_nothing_of_it():
    nobody, ledger, _ = news(Facts(appointment(customer_id=None)))
    nobody.handle(event("Booked"))
    assert ledger.rows == {}

    off = Setup(kinds={"appointment_confirmed": False}, appointment_reminder_minutes=[])
    quiet, ledger, _ = news(Facts(appointment()), off)
    quiet.handle(event("Booked"))
    assert [e.delivery.kind for e in ledger.rows.values()] == [K.APPOINTMENT_CHECK_IN_OPEN]


def test_a_cancellation_tells_at_once_and_plans_nothing_timed():
    cancelled = appointment()
    cancelled.status = "cancelled"
    told, ledger, _ = news(Facts(cancelled))

    told.handle(event("Cancelled", 2))
    told.handle(event("CheckedIn", 3))

    assert [e.delivery.kind for e in ledger.rows.values()] == [K.APPOINTMENT_CANCELLED]


class Appointments:
    def __init__(self, found: AppointmentView | None) -> None:
        self.found = found

    def get_appointment(self, tenant_id, appointment_id) -> AppointmentView:
        if self.found is None:
            raise NotFound("gone")
        return self.found


def test_a_held_appointment_row_is_released_while_news_and_skipped_once_moved_or_gone():
    told, ledger, _ = news(Facts(appointment()))
    told.handle(event("Booked"))
    reminder = next(e for e in ledger.rows.values() if e.delivery.kind is K.APPOINTMENT_REMINDER)
    moved = appointment()
    moved.start = START + timedelta(hours=2)

    def released(found: AppointmentView | None) -> str | None:
        jobs = DeliveryJobs(StubBroker(), ledger, {}, appointments=Appointments(found))  # type: ignore[arg-type]
        return jobs._appointment_news_gone(reminder, reminder.delivery)

    assert released(appointment()) is None
    assert released(moved) == "no longer news: the appointment moved"
    assert released(None) == "no longer news: the appointment is gone"
