"""The feedback figures' days on real PostgreSQL are the site's local days (its queue's time
zone), for the answers and the completed visits alike; the list filters by appointment."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from sqlalchemy import insert

from application.feedback_reports import FeedbackFilter, FeedbackReports
from application.paging import PageRequest
from infrastructure.postgres.tables import feedback, queue_eta, tickets
from infrastructure.read_models.feedback import PostgresFeedbackRecords
from tests.integration.roles_support import every_tenant

pytestmark = pytest.mark.integration

# 23:30 in Paris on the 10th, then 00:30 on the 11th: one UTC day, two local ones.
BEFORE_MIDNIGHT = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
AFTER_MIDNIGHT = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)


def _visit(connection, tenant_id: UUID, queue_id: UUID, site_id: UUID, at: datetime, **extra):
    """A completed ticket and its feedback, as the projections write them."""
    ticket_id, service_id = uuid4(), uuid4()
    connection.execute(
        insert(tickets).values(
            ticket_id=ticket_id,
            tenant_id=tenant_id,
            number="A-001",
            status="completed",
            queue_id=queue_id,
            service_id=service_id,
            priority=0,
            channel="kiosk",
            issued_at=at,
            finished_at=at,
            recalls=0,
            transfers=0,
        )
    )
    connection.execute(
        insert(feedback).values(
            feedback_id=uuid4(),
            tenant_id=tenant_id,
            ticket_id=ticket_id,
            site_id=site_id,
            service_id=service_id,
            queue_id=queue_id,
            csat=5,
            nps=None,
            tags=[],
            has_comment=False,
            submitted_at=at,
            **extra,
        )
    )


def test_figures_by_day_count_in_the_sites_days_around_midnight_utc(container):
    tenant_id, queue_id, site_id, appointment_id = uuid4(), uuid4(), uuid4(), uuid4()
    with every_tenant(container.read_engine) as connection:
        connection.execute(
            insert(queue_eta).values(
                queue_id=queue_id,
                tenant_id=tenant_id,
                site_id=site_id,
                timezone="Europe/Paris",
                service_seconds=[],
                occupancy_seconds=[],
            )
        )
        _visit(connection, tenant_id, queue_id, site_id, BEFORE_MIDNIGHT)
        _visit(
            connection, tenant_id, queue_id, site_id, AFTER_MIDNIGHT, appointment_id=appointment_id
        )
    reports = FeedbackReports(PostgresFeedbackRecords(container.read_engine))

    by_day = reports.feedback_stats(tenant_id, FeedbackFilter(), "day")
    assert [(row.key, row.responses, row.completed) for row in by_day] == [
        ("2026-03-10", 1, 1),
        ("2026-03-11", 1, 1),
    ]

    def listed(**where) -> list:
        page = reports.list_feedback(tenant_id, FeedbackFilter(**where), PageRequest())
        return [item.submitted_at for item in page.items]

    assert listed(origin="appointment") == [AFTER_MIDNIGHT]
    assert listed(origin="walk_in") == [BEFORE_MIDNIGHT]
    assert listed(appointment_id=appointment_id) == [AFTER_MIDNIGHT]
    assert listed() == [AFTER_MIDNIGHT, BEFORE_MIDNIGHT]
