"""The read-model tables (SQLAlchemy Core); the row-level security that isolates their tenants
is :mod:`infrastructure.postgres.row_security`'s.

Alembic migrations create these tables (as the migration role, which owns them); the projection
runner writes them as ``PROJECTOR_ROLE``, and the API reads them as ``READER_ROLE``; neither owns
them nor bypasses RLS, and readers set the tenant per transaction.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Double,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

metadata = MetaData()

projection_tracking = Table(
    "projection_tracking",
    metadata,
    Column("projection_name", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# The shard map (docs/sharding.md), read in the directory database only. Platform bookkeeping,
# read before a tenant is known: ``tenant`` rather than ``tenant_id``, so no row-level security.
tenant_shards = Table(
    "tenant_shards",
    metadata,
    Column("tenant", Uuid, primary_key=True),
    Column("slug", String(63), nullable=False, unique=True),
    Column("shard", String(63), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    # Null only for platform-level events; RLS then hides them from every tenant.
    Column("tenant_id", Uuid, nullable=True),
    Column("event_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("aggregate_type", Text, nullable=False),
    Column("aggregate_id", Uuid, nullable=False),
    Column("aggregate_version", Integer, nullable=False),
    Column("actor_id", Uuid),
    Column("actor_role", Text),
    Column("client_ip", Text),
    Column("correlation_id", Text),
    Column("causation_id", Text),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("data", JSONB, nullable=False),
    # Names follow PostgreSQL's own pattern ({table}_{columns}_idx), which is what a rebuild's
    # ``CREATE TABLE ... (LIKE ... INCLUDING ALL)`` produces, so a swap can restore them.
    Index("audit_log_tenant_id_position_idx", "tenant_id", "position"),
    Index("audit_log_tenant_id_actor_id_position_idx", "tenant_id", "actor_id", "position"),
    Index("audit_log_tenant_id_event_type_position_idx", "tenant_id", "event_type", "position"),
    Index("audit_log_tenant_id_aggregate_id_position_idx", "tenant_id", "aggregate_id", "position"),
    Index("audit_log_tenant_id_recorded_at_idx", "tenant_id", "recorded_at"),
)

# The agent board (projections/agent_board.py): one row per agent ...
agent_board = Table(
    "agent_board",
    metadata,
    Column("agent_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("name", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("status_since", DateTime(timezone=True), nullable=False),
    Column("counter", Text),
    Column("queue_ids", ARRAY(Uuid), nullable=False),
    Column("ticket_id", Uuid),
    Column("ticket_number", Text),
    Column("ticket_queue_id", Uuid),
    Column("ticket_status", String(20)),
    Column("ticket_since", DateTime(timezone=True)),
    Column("served_day", Date),
    Column("served_timezone", Text),
    Column("served_count", Integer, nullable=False),
    # {queue id: epoch seconds} of the agent's latest call or finish per queue (migration 0005).
    Column("worked_at", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("agent_board_tenant_id_idx", "tenant_id"),
)

# ... one per ticket still open (the number and call time the board and the samples need) ...
agent_board_tickets = Table(
    "agent_board_tickets",
    metadata,
    Column("ticket_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("queue_id", Uuid, nullable=False),
    Column("number", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("agent_id", Uuid),
    Column("called_at", DateTime(timezone=True)),
    Column("started_at", DateTime(timezone=True)),
)

# ... and one per queue: its site, time zone and latest service times and holds, for the ETA.
queue_eta = Table(
    "queue_eta",
    metadata,
    Column("queue_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("service_seconds", ARRAY(Double), nullable=False),
    Column("occupancy_seconds", ARRAY(Double), nullable=False),
    Index("queue_eta_tenant_id_site_id_idx", "tenant_id", "site_id"),
)

tickets = Table(
    "tickets",
    metadata,
    Column("ticket_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("number", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("queue_id", Uuid, nullable=False),
    Column("service_id", Uuid, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("channel", Text, nullable=False),
    Column("customer_id", Uuid),
    Column("agent_id", Uuid),
    Column("counter", Text),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("first_called_at", DateTime(timezone=True)),
    Column("called_at", DateTime(timezone=True)),
    Column("service_started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Column("recalls", Integer, nullable=False),
    Column("transfers", Integer, nullable=False),
    # Lists are newest first with (issued_at, ticket_id) as the keyset; each filter has its own
    # (tenant_id, filter, issued_at, ticket_id) index so a filtered page is one index range.
    Index("tickets_tenant_id_issued_at_ticket_id_idx", "tenant_id", "issued_at", "ticket_id"),
    *(
        Index(
            f"tickets_tenant_id_{column}_issued_at_ticket_id_idx",
            "tenant_id",
            column,
            "issued_at",
            "ticket_id",
        )
        for column in ("status", "queue_id", "service_id", "agent_id", "customer_id")
    ),
    # The called tickets by call time, across tenants: the auto no-show sweep (migration 0013).
    Index("tickets_called_at_idx", "called_at", postgresql_where=text("status = 'called'")),
)

# Each queue's waiting line, entry for entry as the Queue aggregate holds it (TicketJoined,
# TicketLeft, Renumbered). ``priority_order`` is ``-priority``, so every policy's sort key is
# ascending in each column and a position is one row comparison over one index.
waiting_line = Table(
    "waiting_line",
    metadata,
    Column("queue_id", Uuid, primary_key=True),
    Column("ticket_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("rank", Float(precision=53), nullable=False),
    Column("priority_order", Integer, nullable=False),
    Column("deadline", DateTime(timezone=True), nullable=False),
    # One index per policy key (domain/policies.py): fifo, priority, sla.
    Index("waiting_line_queue_id_rank_idx", "queue_id", "rank"),
    Index("waiting_line_queue_id_priority_order_rank_idx", "queue_id", "priority_order", "rank"),
    Index(
        "waiting_line_queue_id_deadline_priority_order_rank_idx",
        "queue_id",
        "deadline",
        "priority_order",
        "rank",
    ),
)

# What the tickets read model needs of a queue: its site and its current policy.
ticket_queues = Table(
    "ticket_queues",
    metadata,
    Column("queue_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("policy", String(20), nullable=False),
)

# The working state of a stateful projection (a fold's open visits and current days), keyed by
# tracking name like ``projection_tracking`` and written in the same transaction as its rows and
# position. Not a tenant table: it mixes every tenant's state and the reader gets no grant on it.
projection_state = Table(
    "projection_state",
    metadata,
    Column("projection_name", String(100), primary_key=True),
    Column("state", LargeBinary, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per queue and site-local day; the columns are the fields of ``QueueStatsRow``.
queue_stats = Table(
    "queue_stats",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("queue_id", Uuid, nullable=False),
    Column("day", Date, nullable=False),
    *(
        Column(name, Integer, nullable=False)
        for name in (
            "issued",
            "transferred_in",
            "waiting",
            "called",
            "serving",
            "paused",
            "completed",
            "no_show",
            "cancelled",
            "abandoned",
            "transferred_out",
            "waits_counted",
        )
    ),
    Column("wait_total_seconds", Double, nullable=False),
    Column("average_wait_seconds", Double),
    Column("shortest_wait_seconds", Double),
    Column("longest_wait_seconds", Double),
    Column("services_counted", Integer, nullable=False),
    Column("service_total_seconds", Double, nullable=False),
    Column("average_service_seconds", Double),
    Column("longest_service_seconds", Double),
    Column("sla_met", Integer, nullable=False),
    Column("sla_counted", Integer, nullable=False),
    Column("sla_compliance", Double),
    Column("oldest_waiting_since", DateTime(timezone=True)),
    PrimaryKeyConstraint("tenant_id", "queue_id", "day", name="queue_stats_pkey"),
    Index("queue_stats_tenant_id_day_idx", "tenant_id", "day"),
)

# KPIs (projections/kpis.py): one row per hourly bucket (tenant, site, service, queue, agent or
# none, site-local day and hour). ``bucket_id`` is uuid5 of the key (``agent_id`` may be null, so
# it cannot be in a primary key). Sketches: ``{"zero", "keys", "counts"}``
# (projections/kpis_sketch.py).
kpis = Table(
    "kpis",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("bucket_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("service_id", Uuid, nullable=False),
    Column("queue_id", Uuid, nullable=False),
    Column("agent_id", Uuid),
    Column("day", Date, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("arrivals", Integer, nullable=False),
    Column("arrivals_by_channel", JSONB, nullable=False),
    *(
        Column(name, Integer, nullable=False)
        for name in (
            "served",
            "no_shows",
            "cancellations",
            "abandonments",
            "transferred_out",
            "waits_counted",
            "services_counted",
            "sla_met",
            "sla_counted",
        )
    ),
    Column("wait_total_seconds", Double, nullable=False),
    Column("wait_max_seconds", Double),
    Column("wait_sketch", JSONB, nullable=False),
    Column("service_total_seconds", Double, nullable=False),
    Column("service_max_seconds", Double),
    Column("service_sketch", JSONB, nullable=False),
    # Migration 0022: handle time and feedback (counted in the hour it was given).
    Column("handles_counted", Integer, nullable=False, server_default="0"),
    Column("handle_total_seconds", Double, nullable=False, server_default="0"),
    *(
        Column(name, Integer, nullable=False, server_default="0")
        for name in (
            "csat_responses",
            "csat_total",
            "csat_satisfied",
            "nps_responses",
            "nps_promoters",
            "nps_detractors",
        )
    ),
    PrimaryKeyConstraint("tenant_id", "bucket_id", name="kpis_pkey"),
    Index("kpis_tenant_id_day_idx", "tenant_id", "day"),
)

# Agents' time on duty per site-local hour (projections/kpis.py ``DutyBucket``; migration 0022):
# written by the ``kpis`` projection with ``kpis``. ``bucket_id`` is uuid5 of (agent, site, day,
# hour); ``site_id`` is null for an agent with no queue.
kpi_agent_duty = Table(
    "kpi_agent_duty",
    metadata,
    Column("tenant_id", Uuid, nullable=False),
    Column("bucket_id", Uuid, nullable=False),
    Column("agent_id", Uuid, nullable=False),
    Column("site_id", Uuid),
    Column("day", Date, nullable=False),
    Column("hour", Integer, nullable=False),
    Column("on_duty_seconds", Double, nullable=False),
    Column("paused_seconds", Double, nullable=False),
    PrimaryKeyConstraint("tenant_id", "bucket_id", name="kpi_agent_duty_pkey"),
    Index("kpi_agent_duty_tenant_id_day_idx", "tenant_id", "day"),
)

# The directory (projections/directory.py): every queue and agent of a tenant as lists show them.
# ``listed_at`` is the log position of the queue's opening or the agent's registration, saved
# with the tenant's ``QueueAdded`` / ``UserAdded``: ordering by it is the tenant's own order.
directory_queues = Table(
    "directory_queues",
    metadata,
    Column("queue_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("listed_at", BigInteger, nullable=False),
    Column("name", Text, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("service_ids", ARRAY(Uuid), nullable=False),
    Column("algorithm", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("waiting", Integer, nullable=False),
    Column("auto_no_show_minutes", Integer),  # migration 0010
    Index("directory_queues_tenant_id_listed_at_idx", "tenant_id", "listed_at"),
    Index("directory_queues_tenant_id_site_id_listed_at_idx", "tenant_id", "site_id", "listed_at"),
)

directory_agents = Table(
    "directory_agents",
    metadata,
    Column("agent_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("listed_at", BigInteger, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("name", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("counter", Text),
    Column("queue_ids", ARRAY(Uuid), nullable=False),
    Column("current_ticket_id", Uuid),
    Index("directory_agents_tenant_id_listed_at_idx", "tenant_id", "listed_at"),
)

# Availability (projections/availability.py): one row per Schedule (site, service, local day),
# the taken count of each slot (by its UTC start, ISO) and which slot each appointment holds.
availability = Table(
    "availability",
    metadata,
    Column("schedule_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("service_id", Uuid, nullable=False),
    Column("day", Date, nullable=False),
    Column("taken", JSONB, nullable=False),
    Column("places", JSONB, nullable=False),
    Index(
        "availability_tenant_id_site_id_service_id_day_idx",
        "tenant_id",
        "site_id",
        "service_id",
        "day",
    ),
)

# Appointments (projections/appointments.py): one row per appointment, for the staff's day list
# (by site, local day, start) and the worker's no-show sweep (live ones by start, across tenants).
appointments = Table(
    "appointments",
    metadata,
    Column("appointment_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("service_id", Uuid, nullable=False),
    Column("day", Date, nullable=False),
    Column("start", DateTime(timezone=True), nullable=False),
    Column("end", DateTime(timezone=True), nullable=False),
    Column("code", Text, nullable=False),
    Column("status", String(20), nullable=False),
    Column("customer_id", Uuid),
    Column("ticket_id", Uuid),
    Column("placement", String(20)),
    Column("cancelled_at", DateTime(timezone=True)),
    Index(
        "appointments_tenant_id_site_id_day_start_idx",
        "tenant_id",
        "site_id",
        "day",
        "start",
    ),
    Index(
        "appointments_start_idx",  # live ones only (the sweep)
        "start",
        postgresql_where=text("status IN ('booked', 'rescheduled')"),
    ),
)

# Poison events set aside by the followers (infrastructure/following/dead_letters.py): operator
# data across tenants, no tenant_id, no reader grant.
projection_dead_letters = Table(
    "projection_dead_letters",
    metadata,
    Column("projection_name", String(100), primary_key=True),
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("event_id", Text, nullable=False),
    Column("topic", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("first_failed_at", DateTime(timezone=True), nullable=False),
    Column("last_failed_at", DateTime(timezone=True), nullable=False),
    Column("attempts", Integer, nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("feedback_id", Uuid, primary_key=True),
    Column("tenant_id", Uuid, nullable=False),
    Column("ticket_id", Uuid, nullable=False),
    Column("site_id", Uuid, nullable=False),
    Column("service_id", Uuid, nullable=False),
    Column("queue_id", Uuid, nullable=False),
    Column("agent_id", Uuid),
    Column("csat", Integer),
    Column("nps", Integer),
    Column("tags", ARRAY(Text), nullable=False),
    Column("has_comment", Boolean, nullable=False),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("appointment_id", Uuid),  # migration 0019
    # Lists are newest first with (submitted_at, feedback_id) as the keyset.
    Index(
        "feedback_tenant_id_submitted_at_feedback_id_idx",
        "tenant_id",
        "submitted_at",
        "feedback_id",
    ),
)
"""One row per feedback (the scores, never the comment), for the staff's list and figures."""
