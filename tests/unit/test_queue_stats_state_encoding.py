"""The queue statistics fold's stored state keeps its JSON encoding: a state stored by an
earlier version (visit statuses were then a projection-local enum) still restores, and dumps
back to the same bytes."""

from __future__ import annotations

from uuid import UUID

from domain.tickets import TicketStatus
from projections.queue_stats import QueueStatistics

# Dumped by the version before visit statuses used ``TicketStatus``: one visit in each open
# status, and a day that counted every status including ``transferred_out``.
STORED = (
    b'{"timezones":{"00000000-0000-0000-0000-000000000002":"Europe/Paris"},"days":[{"tenant_id":'
    b'"00000000-0000-0000-0000-000000000001","queue_id":"00000000-0000-0000-0000-000000000002",'
    b'"day":"2026-03-02","issued":5,"transferred_in":1,"abandoned":0,"statuses":{"waiting":1,'
    b'"called":1,"serving":1,"paused":1,"completed":1,"transferred_out":1},"waits":{"count":0,'
    b'"total":0.0,"low":null,"high":null},"services":{"count":0,"total":0.0,"low":null,'
    b'"high":null},"sla_met":0,"sla_counted":0,"waiting_since":{"00000000-0000-0000-0000-'
    b'00000000000a":"2026-03-02T09:00:00Z"}}],"visits":{"00000000-0000-0000-0000-00000000000a":'
    b'{"queue_id":"00000000-0000-0000-0000-000000000002","day":"2026-03-02","joined_at":'
    b'"2026-03-02T08:30:00Z","status":"waiting","target_wait_seconds":null,"called_at":null,'
    b'"started_at":null,"sla_met":null},"00000000-0000-0000-0000-00000000000b":{"queue_id":'
    b'"00000000-0000-0000-0000-000000000002","day":"2026-03-02","joined_at":'
    b'"2026-03-02T08:30:00Z","status":"called","target_wait_seconds":300,"called_at":'
    b'"2026-03-02T08:30:00Z","started_at":null,"sla_met":null},"00000000-0000-0000-0000-'
    b'00000000000c":{"queue_id":"00000000-0000-0000-0000-000000000002","day":"2026-03-02",'
    b'"joined_at":"2026-03-02T08:30:00Z","status":"serving","target_wait_seconds":null,'
    b'"called_at":"2026-03-02T08:30:00Z","started_at":"2026-03-02T08:30:00Z","sla_met":true},'
    b'"00000000-0000-0000-0000-00000000000d":{"queue_id":"00000000-0000-0000-0000-000000000002",'
    b'"day":"2026-03-02","joined_at":"2026-03-02T08:30:00Z","status":"paused",'
    b'"target_wait_seconds":null,"called_at":"2026-03-02T08:30:00Z","started_at":'
    b'"2026-03-02T08:30:00Z","sla_met":false}},"targets":[],"newest":"2026-03-02T08:30:00Z"}'
)


def test_a_stored_state_restores_and_dumps_back_unchanged() -> None:
    fold = QueueStatistics.restore(STORED)
    assert fold.dump() == STORED


def test_restored_visits_stand_in_ticket_statuses() -> None:
    state = QueueStatistics.restore(STORED)
    statuses = {ticket: visit.status for ticket, visit in state._visits.items()}
    assert statuses == {
        UUID(int=10): TicketStatus.WAITING,
        UUID(int=11): TicketStatus.CALLED,
        UUID(int=12): TicketStatus.SERVING,
        UUID(int=13): TicketStatus.PAUSED,
    }
    assert all(type(status) is TicketStatus for status in statuses.values())


def test_a_restored_day_counts_every_status_including_transfers_out() -> None:
    (row,) = QueueStatistics.restore(STORED).rows()
    counts = (row.waiting, row.called, row.serving, row.paused, row.completed, row.transferred_out)
    assert counts == (1, 1, 1, 1, 1, 1)
    assert (row.no_show, row.cancelled) == (0, 0)
