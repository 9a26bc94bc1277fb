"""Ticket queries over a fake read model: filters are validated, cursors round-trip, and a
waiting ticket gets its ETA from the estimator port."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from application.paging import Page, PageRequest, encode_cursor
from application.ticket_queries import (
    ListKey,
    TicketFilter,
    TicketQueries,
    parse_statuses,
)
from application.views import TicketView
from domain.errors import InvalidInput, TicketNotFound

MORNING = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def _view(position: int | None, status: str = "waiting") -> TicketView:
    return TicketView(
        id=uuid4(),
        number="A-001",
        status=status,
        queue_id=uuid4(),
        service_id=uuid4(),
        position=position,
        eta_seconds=None,
        priority=0,
        channel="api",
        customer_id=None,
        agent_id=None,
        counter=None,
        issued_at=MORNING,
        called_at=None,
        service_started_at=None,
        finished_at=None,
        recalls=0,
        transfers=0,
    )


class FakeRecords:
    """The read model as a dict of views."""

    def __init__(self, *views: TicketView) -> None:
        self.views = {view.id: view for view in views}

    def find(self, tenant_id: UUID, ticket_id: UUID) -> TicketView | None:
        return self.views.get(ticket_id)

    def search(self, tenant_id: UUID, where: TicketFilter, page: PageRequest) -> Page[TicketView]:
        return Page(list(self.views.values()), None)


class PerPlaceEstimator:
    """Two minutes per place: enough to see which position the query asked about."""

    def __init__(self) -> None:
        self.asked: list[tuple[UUID, UUID, int]] = []

    def estimate(self, tenant_id: UUID, queue_id: UUID, position: int) -> int | None:
        self.asked.append((tenant_id, queue_id, position))
        return position * 120

    def estimate_all(
        self, tenant_id: UUID, waiting: Sequence[tuple[UUID, int]]
    ) -> list[int | None]:
        return [self.estimate(tenant_id, queue_id, position) for queue_id, position in waiting]


def test_statuses_may_be_repeated_or_comma_separated_and_must_be_known():
    assert parse_statuses(["waiting,called", " paused ", "waiting"]) == {
        "waiting",
        "called",
        "paused",
    }
    assert parse_statuses([]) == frozenset()
    with pytest.raises(InvalidInput, match="'bogus'"):
        parse_statuses(["waiting,bogus"])


def test_a_filter_refuses_an_empty_time_window():
    with pytest.raises(InvalidInput, match="since must be earlier than until"):
        TicketFilter(since=MORNING, until=MORNING)


def test_a_list_cursor_round_trips_and_a_foreign_one_is_invalid():
    key = ListKey(MORNING.replace(microsecond=123456), uuid4())
    assert ListKey.after(PageRequest(cursor=key.cursor())) == key
    assert ListKey.after(PageRequest()) is None
    for foreign in (encode_cursor("12"), encode_cursor('{"issued_at": 3}'), "%%%"):
        with pytest.raises(InvalidInput, match="cursor"):
            ListKey.after(PageRequest(cursor=foreign))


def test_a_waiting_ticket_gets_the_estimate_for_its_position_and_others_none():
    waiting, done = _view(3), _view(None, status="completed")
    estimator = PerPlaceEstimator()
    queries = TicketQueries(FakeRecords(waiting, done), estimator)
    tenant_id = uuid4()

    assert queries.get_ticket(tenant_id, waiting.id).eta_seconds == 360
    assert estimator.asked == [(tenant_id, waiting.queue_id, 3)]
    assert queries.get_ticket(tenant_id, done.id).eta_seconds is None
    with pytest.raises(TicketNotFound):
        queries.get_ticket(tenant_id, uuid4())


def test_a_listed_waiting_ticket_gets_the_same_estimate_as_alone():
    waiting, done = _view(3), _view(None, status="completed")
    queries = TicketQueries(FakeRecords(waiting, done), PerPlaceEstimator())
    tenant_id = uuid4()

    listed = {t.id: t.eta_seconds for t in queries.list_tickets(tenant_id, TicketFilter()).items}
    assert listed == {waiting.id: 360, done.id: None}
    assert listed[waiting.id] == queries.get_ticket(tenant_id, waiting.id).eta_seconds
