"""Builds a process's objects from settings: the one place that wires infrastructure to ports."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import dramatiq
import redis
import structlog
from psycopg_pool import ConnectionPool
from sqlalchemy import Engine

from application.agent_board import AgentBoard
from application.analytics import Analytics
from application.app import SmartQueue
from application.appointment_sweep import AppointmentNoShowSweep
from application.appointments import Appointments
from application.audit import AuditLog
from application.availability import Availability
from application.base import utc_now
from application.call_expiry import CallExpiry
from application.catalogue import Catalogue
from application.check_in import CheckIns
from application.consistency import Consistency
from application.customers import Customers
from application.delivery_reports import DeliveryReports
from application.devices import Devices
from application.feedback import Feedbacks
from application.feedback_reports import FeedbackReports
from application.idempotency import IdempotencyStore, KeyPolicy
from application.identity import Identity
from application.join_codes import JoinCodes
from application.live import LiveViews
from application.notification_setup import NotificationSetup
from application.ports import WaitEstimator
from application.public_booking import BookingPasses, PublicBooking
from application.public_tickets import PublicTickets
from application.public_views import PublicContexts
from application.queues import Queues
from application.readiness import ReadinessProbe
from application.sign_in import SecretSignIn
from application.staff_notifications import Notifications
from application.staffing import Staffing
from application.stats import StatsQueries
from application.tenancy import Tenancy
from application.ticket_queries import TicketQueries
from application.tickets import Tickets
from application.webhooks import Webhooks
from infrastructure.following.positions import PostgresProjectionPositions
from infrastructure.identity.credentials import Argon2Hasher, PostgresCredentialStore
from infrastructure.identity.devices import PostgresDeviceCredentials
from infrastructure.identity.ticket_passes import (
    APPOINTMENT_LABEL,
    FEEDBACK_LABEL,
    HOLD_LABEL,
    HmacTicketPasses,
    derive_pass_key,
)
from infrastructure.identity.tokens import JwtTokenService, load_signing_key
from infrastructure.jobs.appointment_no_show import AppointmentNoShowJobs
from infrastructure.jobs.hold_expiry import HoldExpiryJobs
from infrastructure.notify import composition as notify_use_cases
from infrastructure.notify.join_code_sms import LedgerJoinCodeSender
from infrastructure.notify.webhook_jobs import WebhookJobs
from infrastructure.notify.wiring import Notifications as NotifyWiring
from infrastructure.notify.wiring import build_notifications
from infrastructure.parquet import ParquetFiles
from infrastructure.postgres.database import event_store_env, open_pool, resolve_database_url
from infrastructure.postgres.queue_lock import PostgresQueueLock
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.read_models.agent_board import PostgresAgentBoard
from infrastructure.read_models.appointments import (
    PostgresAppointmentRecords,
    PostgresPastAppointments,
)
from infrastructure.read_models.audit_log import PostgresAuditLog
from infrastructure.read_models.availability import PostgresAvailability
from infrastructure.read_models.directory import PostgresDirectory
from infrastructure.read_models.feedback import PostgresFeedbackRecords
from infrastructure.read_models.kpis import PostgresKpis
from infrastructure.read_models.overdue_calls import PostgresOverdueCalls
from infrastructure.read_models.queue_stats import PostgresQueueStats
from infrastructure.read_models.tickets import PostgresLiveRecords, PostgresTicketRecords
from infrastructure.read_models.visit_facts import PostgresVisitFacts
from infrastructure.read_models.wait_estimates import PostgresWaitEstimator
from infrastructure.redis.join_codes import RedisJoinCodeVault, derive_join_code_key
from infrastructure.redis.presence import RedisPresence
from infrastructure.redis.rate_limit import RedisLoginLimiter, RedisRequestLimiter
from infrastructure.redis.server import connect_redis, resolve_redis_url
from infrastructure.redis.socket_slots import RedisSocketSlots
from infrastructure.redis.socket_tickets import RedisSocketTickets
from infrastructure.roles.readiness import ProcessReadiness
from infrastructure.settings import Settings
from infrastructure.stores.customers import PostgresCustomerProfiles
from infrastructure.stores.feedback_comments import PostgresFeedbackComments
from infrastructure.stores.idempotency import PostgresIdempotencyStore
from infrastructure.stores.public_join_settings import PostgresJoinSettings

log = structlog.get_logger(__name__)


@dataclass
class Container:
    """The long-lived objects of one process, closed together."""

    settings: Settings
    database_url: str
    app: SmartQueue
    """The event store every context saves through (the unit of work)."""
    pool: ConnectionPool
    redis_url: str
    redis: redis.Redis
    read_engine: Engine
    tenancy: Tenancy
    catalogue: Catalogue
    queues: Queues
    tickets: Tickets
    staffing: Staffing
    customers: Customers
    identity: Identity
    devices: Devices
    idempotency: IdempotencyStore
    audit: AuditLog
    consistency: Consistency
    agent_board: AgentBoard
    wait_estimator: WaitEstimator
    stats: StatsQueries
    ticket_queries: TicketQueries
    live: LiveViews
    socket_tickets: RedisSocketTickets
    notification_setup: NotificationSetup
    """The tenants' message templates and notification settings."""
    closed: bool = field(default=False)
    request_limits: RedisRequestLimiter | None = None
    """Request rates per access token, per kiosk and per queue."""
    public: PublicTickets | None = None
    """Remote join and "my ticket" (the customer's side, no staff token)."""
    join_codes: JoinCodes | None = None
    """The tenants' one-time join codes: their setting, sending and redeeming."""
    feedback: Feedbacks | None = None
    """Feedback on completed visits: the public page's submit, the staff's reads."""
    booking_passes: BookingPasses | None = None
    """The hold, "my appointment" and "my ticket" tokens of the booking pages."""
    queue_lock: PostgresQueueLock | None = None
    """Serialises the commands that change one queue, across processes (its own pool)."""

    @functools.cached_property
    def readiness(self) -> ReadinessProbe:
        """The readiness probe over this process's connections and supervision settings."""
        return ProcessReadiness(
            self.settings,
            self.pool,
            self.redis,
            self.read_engine,
            self.app.recorder,
            self.consistency.store,
        )

    @functools.cached_property
    def socket_slots(self) -> RedisSocketSlots:
        """The open-socket count of each token; a slot's lease outlives a few token checks,
        which renew it."""
        live = self.settings.live
        lease = max(30.0, 3 * live.token_check_seconds)
        return RedisSocketSlots(self.redis, live.max_sockets_per_token, lease)

    @functools.cached_property
    def call_expiry(self) -> CallExpiry:
        """The worker's auto no-show sweep: calls past their queue's delay, marked no-show."""
        return CallExpiry(PostgresOverdueCalls(self.read_engine), self.tickets, self.app.clock)

    @functools.cached_property
    def analytics(self) -> Analytics:
        """The managers' KPIs over any range, from the ``kpis`` read model, and the exports of
        visit facts from the ``tickets`` one."""
        return Analytics(
            PostgresKpis(self.read_engine), PostgresVisitFacts(self.read_engine), ParquetFiles()
        )

    @functools.cached_property
    def feedback_reports(self) -> FeedbackReports:
        """The staff's feedback list and figures, from the read models."""
        return FeedbackReports(PostgresFeedbackRecords(self.read_engine))

    @functools.cached_property
    def appointments(self) -> Appointments:
        """Booking, moving and cancelling appointments; the day's list (a read model)."""
        return Appointments(
            self.app,
            self.appointment_no_shows,
            records=PostgresAppointmentRecords(self.read_engine),
            hold_expiries=self.hold_expiries,
        )

    @functools.cached_property
    def hold_expiries(self) -> HoldExpiryJobs:
        """Schedules (and, in a jobs worker, runs) the expiry of places held by online bookers."""
        return hold_expiry_jobs(self.notify.jobs.broker, self.app)

    @functools.cached_property
    def appointment_sweep(self) -> AppointmentNoShowSweep:
        """The worker's appointment no-show sweep: live appointments past their window (whose
        delayed job was lost), marked no-show."""
        return AppointmentNoShowSweep(
            PostgresPastAppointments(self.read_engine), self.check_ins, self.app.clock
        )

    @functools.cached_property
    def check_ins(self) -> CheckIns:
        """Checking appointments in into their queue, and their no-shows."""
        return CheckIns(self.app, self.queue_lock)

    @functools.cached_property
    def appointment_no_shows(self) -> AppointmentNoShowJobs:
        """Schedules (and, in a jobs worker, runs) the no-show of appointments not checked in."""
        return AppointmentNoShowJobs(self.notify.jobs.broker, self.check_ins, clock=self.app.clock)

    @functools.cached_property
    def public_booking(self) -> PublicBooking:
        """The booking pages and "my appointment" (the customer's side, no staff token)."""
        return PublicBooking(
            self.app,
            self.appointments,
            self.availability,
            self.check_ins,
            self.customers,
            self.queues,
            self.booking_passes,
        )

    @functools.cached_property
    def availability(self) -> Availability:
        """The free places per slot, from the availability read model."""
        return Availability(self.app, PostgresAvailability(self.read_engine))

    @functools.cached_property
    def notify(self) -> NotifyWiring:
        """The delivery ledger and the dramatiq jobs (delivery, webhooks, auto no-show; Redis
        opened on first use), shared by the API, the notifier and the jobs workers of this
        process."""
        # The appointments are only read here (a held reminder's check), so without no-shows,
        # which are scheduled on this very broker.
        return build_notifications(
            self.pool,
            self.redis_url,
            self.settings.notify,
            self.tickets,
            appointments=Appointments(self.app),
        )

    @functools.cached_property
    def notifications(self) -> Notifications:
        """The staff's use cases on notifications: the ledger's list, free messages."""
        return notify_use_cases.staff_notifications(
            self.notify,
            self.settings.notify,
            self.tickets,
            self.queues,
            self.catalogue,
            self.customers,
        )

    @functools.cached_property
    def webhook_jobs(self) -> WebhookJobs:
        """Records and queues webhook deliveries (sent by ``smartqueue jobs``)."""
        return notify_use_cases.webhook_deliveries(self.pool, self.redis_url, self.settings.notify)

    @functools.cached_property
    def webhooks(self) -> Webhooks:
        """The tenants' webhook subscriptions, their log, test pings and redeliveries."""
        return notify_use_cases.webhooks(self.webhook_jobs, self.settings.notify)

    @functools.cached_property
    def delivery_reports(self) -> DeliveryReports:
        """Providers' status callbacks applied to the notification ledger."""
        return notify_use_cases.delivery_reports(self.pool, self.settings.notify)

    def close(self) -> None:
        """Release every connection this process holds."""
        if not self.closed:
            self.closed = True
            if "notify" in self.__dict__:
                self.notify.close()
            if "webhook_jobs" in self.__dict__:
                self.webhook_jobs.broker.close()
                self.webhook_jobs.close()
            self.app.close()
            if self.queue_lock is not None:
                self.queue_lock.close()
            self.pool.close()
            self.redis.close()
            self.read_engine.dispose()


def build_container(settings: Settings, clock: Callable[[], datetime] = utc_now) -> Container:
    """Connect to PostgreSQL and Redis (starting the embedded ones when no URL is set) and wire
    the application. ``clock`` tells the commands the time (the demo's history sets it to past
    instants; every process runs on the real one)."""
    database_url = resolve_database_url(settings)
    redis_url = resolve_redis_url(settings)
    pool = open_pool(database_url, size=max(2, settings.database.pool_size // 2))
    app = SmartQueue(env=event_store_env(database_url, settings, create_tables=False), clock=clock)
    client = connect_redis(redis_url)
    auth = settings.auth
    signing_key = load_signing_key(auth.jwt_secret, settings.home)
    tokens = JwtTokenService(
        client,
        key=signing_key,
        issuer=auth.issuer,
        audience=auth.audience,
        access_ttl_seconds=auth.token_ttl_seconds,
        refresh_ttl_seconds=auth.refresh_ttl_seconds,
        leeway_seconds=auth.jwt_leeway_seconds,
    )
    # One sign-in plumbing for staff and devices: the same limiter counts both.
    sign_in = SecretSignIn(
        Argon2Hasher(),
        RedisLoginLimiter(
            redis_url, auth.login_attempts_per_account, auth.login_attempts_per_address
        ),
    )
    read_engine = sqlalchemy_engine(
        database_url, pool_size=max(2, settings.database.pool_size // 2)
    )
    directory = PostgresDirectory(read_engine)
    tenancy = Tenancy(app)
    # A lock connection is held only while a command on a queue runs (milliseconds), and the
    # commands of one queue share one: a quarter of the event store's pool is plenty, and keeps
    # two API workers inside an embedded server's 100 connections.
    queue_lock = PostgresQueueLock(
        open_pool(database_url, size=max(2, settings.database.pool_size // 4))
    )
    staffing = Staffing(app, directory, queue_lock)
    queues = Queues(app, directory, queue_lock)
    identity = Identity(app, tenancy, staffing, PostgresCredentialStore(pool), tokens, sign_in)
    devices = Devices(
        app,
        PostgresDeviceCredentials(pool),
        tokens,
        sign_in,
        RedisPresence(client, settings.devices.presence_ttl_seconds),
    )
    policy = KeyPolicy(
        ttl=timedelta(seconds=settings.idempotency.ttl_seconds),
        lease=timedelta(seconds=settings.idempotency.lease_seconds),
    )
    wait_estimator = PostgresWaitEstimator(
        read_engine, serving_window_seconds=settings.eta.serving_window_seconds
    )
    consistency = Consistency(
        PostgresProjectionPositions(read_engine, app.recorder),
        max_wait_seconds=settings.read.max_wait_seconds,
    )
    agent_board = PostgresAgentBoard(read_engine)
    ticket_queries = TicketQueries(PostgresTicketRecords(read_engine), wait_estimator)
    catalogue = Catalogue(app)
    tickets = Tickets(app, queue_lock)
    comments = PostgresFeedbackComments(pool)
    customers = Customers(app, PostgresCustomerProfiles(pool), [comments.delete_for_customer])
    notification_setup = notify_use_cases.notification_setup(pool, settings.notify, app.clock)
    join_codes = build_join_codes(
        pool, client, settings, signing_key, notification_setup, lambda: container.notify
    )
    container = Container(
        settings=settings,
        database_url=database_url,
        app=app,
        pool=pool,
        redis_url=redis_url,
        redis=client,
        read_engine=read_engine,
        tenancy=tenancy,
        catalogue=catalogue,
        queues=queues,
        tickets=tickets,
        staffing=staffing,
        customers=customers,
        identity=identity,
        devices=devices,
        idempotency=PostgresIdempotencyStore(pool, policy),
        audit=PostgresAuditLog(read_engine),
        consistency=consistency,
        agent_board=agent_board,
        wait_estimator=wait_estimator,
        stats=StatsQueries(app, PostgresQueueStats(read_engine)),
        ticket_queries=ticket_queries,
        live=LiveViews(
            PostgresLiveRecords(read_engine), agent_board, queues, consistency, ticket_queries
        ),
        socket_tickets=RedisSocketTickets(client, settings.live.socket_ticket_seconds),
        request_limits=request_limiter(redis_url, settings),
        public=PublicTickets(
            app,
            PublicContexts(catalogue, queues, tickets, customers),
            ticket_queries,
            HmacTicketPasses(derive_pass_key(signing_key)),
            more_time_places=settings.public.more_time_places,
            max_waiting=settings.limits.queue_max_waiting or None,
            join_codes=join_codes,
        ),
        notification_setup=notification_setup,
        join_codes=join_codes,
        feedback=Feedbacks(
            app,
            HmacTicketPasses(derive_pass_key(signing_key, FEEDBACK_LABEL)),
            comments,
            clock=clock,
        ),
        booking_passes=BookingPasses(
            HmacTicketPasses(derive_pass_key(signing_key, HOLD_LABEL)),
            HmacTicketPasses(derive_pass_key(signing_key, APPOINTMENT_LABEL)),
            HmacTicketPasses(derive_pass_key(signing_key)),
        ),
        queue_lock=queue_lock,
    )
    return container


def build_join_codes(
    pool: ConnectionPool,
    client: redis.Redis,
    settings: Settings,
    signing_key: bytes,
    templates: NotificationSetup,
    notify: Callable[[], NotifyWiring],
) -> JoinCodes:
    """The tenants' join-code setting, the codes' digests in Redis, and their SMS through the
    process's ledger and delivery jobs (``notify``, opened on the first code sent)."""
    key = derive_join_code_key(signing_key)
    sender = LedgerJoinCodeSender(notify, templates, key, settings.notify.max_attempts)
    return JoinCodes(
        PostgresJoinSettings(pool),
        RedisJoinCodeVault(client),
        sender,
        key,
        ttl_seconds=settings.public.join_code_ttl_seconds,
    )


def hold_expiry_jobs(broker: dramatiq.Broker, app: SmartQueue) -> HoldExpiryJobs:
    """The hold-expiry actor on ``broker``; its runs record expiries through a schedule-only
    appointments context (expiring a hold schedules nothing)."""
    return HoldExpiryJobs(broker, lambda: Appointments(app), clock=app.clock)


def request_limiter(redis_url: str, settings: Settings) -> RedisRequestLimiter:
    """The request rate policies of ``settings.limits``, by the names the API uses."""
    limits = settings.limits
    return RedisRequestLimiter(
        redis_url,
        {
            "token": limits.api_per_access,
            "device": limits.kiosk_per_device,
            "queue": limits.kiosk_per_queue,
            "public": settings.public.requests_per_address,
            "public_join_address": settings.public.joins_per_address,
            "public_join_phone": settings.public.joins_per_phone,
            "public_code_address": settings.public.codes_per_address,
            "public_code_phone": settings.public.codes_per_phone,
        },
    )
