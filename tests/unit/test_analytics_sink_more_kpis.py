"""The feedback and time-on-duty queries of docs/analytics-sink.md, run as the page prints them
on a sink file whose events were written by hand, against figures worked out by hand: two sites
in two time zones, feedback answering CSAT only or NPS only, agents' days with a pause, a
period across the site's midnight and one at no site (UTC)."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from infrastructure.analytics.rows import batch_of
from infrastructure.analytics.store import SinkStore
from tests.unit.test_analytics_sink_kpis import DAY, DOC, Stream, at

NEXT_DAY = DAY + timedelta(days=1)
EVE = DAY - timedelta(days=1)
# at(m) is 09:00 UTC on 2 March 2026 + m minutes: 10:00 in Paris (UTC+1), 04:00 in New York
# (UTC-5; both before their DST change).
LATE = 14 * 60  # 23:00 UTC: midnight in Paris, 18:00 in New York


def block(marker: str) -> str:
    """The SQL block right after the page's ``marker`` comment, as printed."""
    text = DOC.read_text()
    after = text[text.index(f"<!-- {marker}:") :]
    match = re.search(r"```sql\n(.*?)```", after, re.DOTALL)
    assert match, f"docs/analytics-sink.md lost its {marker} query"
    return match.group(1)


def run(
    connection: Any, marker: str, from_day: date, to_day: date
) -> dict[tuple[str, date], dict[str, Any]]:
    """The block's rows by (its second column: queue or agent id, day), each a dict."""
    connection.execute(f"SET VARIABLE from_day = DATE '{from_day.isoformat()}'")
    connection.execute(f"SET VARIABLE to_day = DATE '{to_day.isoformat()}'")
    result = connection.execute(block(marker))
    names = [column[0] for column in result.description]
    rows = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    return {(str(row[names[1]]), row["day"]): row for row in rows}


class Floor(Stream):
    """A :class:`Stream` with sites, agents and feedback."""

    def site_queue(self, site_id: str, timezone: str) -> str:
        queue_id = str(uuid.uuid4())
        self.event("Queue", queue_id, "Opened", name="Q", site_id=site_id, timezone=timezone)
        return queue_id

    def agent(self, *queue_ids: str) -> str:
        agent_id = str(uuid.uuid4())
        self.event("Agent", agent_id, "Registered", user_id=str(uuid.uuid4()))
        if queue_ids:
            self.event("Agent", agent_id, "QueuesAssigned", queue_ids=list(queue_ids))
        return agent_id

    def status(self, agent_id: str, status: str, minutes: float) -> None:
        """A status change; its time is the envelope's ``occurred_at`` (the application's
        clock), not a payload field."""
        self.event("Agent", agent_id, "StatusChanged", status=status)
        record = self.records[-1]
        envelope = json.loads(record.value)
        envelope["occurred_at"] = at(minutes).isoformat()
        self.records[-1] = replace(record, value=json.dumps(envelope).encode())

    def serve(
        self,
        agent_id: str,
        queue_id: str,
        issued: float,
        called: float,
        started: float,
        done: float,
    ) -> None:
        ticket_id = self.issue(queue_id, issued)
        self.do(ticket_id, "Called", called, agent_id=agent_id, counter="1")
        self.do(ticket_id, "ServiceStarted", started)
        self.do(ticket_id, "Completed", done)

    def feedback(self, queue_id: str, minutes: float, csat: int | None, nps: int | None) -> None:
        ticket_id = str(uuid.uuid4())
        self.event(
            "Feedback",
            str(uuid.uuid5(uuid.NAMESPACE_URL, ticket_id)),
            "Submitted",
            tenant_id=self.tenant_id,
            ticket_id=ticket_id,
            site_id=str(uuid.uuid4()),
            service_id=str(uuid.uuid4()),
            queue_id=queue_id,
            agent_id=None,
            customer_id=None,
            csat=csat,
            nps=nps,
            tags=[],
            has_comment=False,
            submitted_at=at(minutes),
            appointment_id=None,
        )


def stored(tmp_path_factory: pytest.TempPathFactory, floor: Floor) -> SinkStore:
    store = SinkStore(tmp_path_factory.mktemp("more-kpis") / "sink.duckdb")
    store.write(batch_of({0: floor.records}))
    return store


@pytest.fixture(scope="module")
def feedback(tmp_path_factory: pytest.TempPathFactory) -> tuple[SinkStore, str, str]:
    s = Floor()
    paris = s.site_queue(str(uuid.uuid4()), "Europe/Paris")
    new_york = s.site_queue(str(uuid.uuid4()), "America/New_York")
    s.feedback(paris, 0, csat=5, nps=10)
    s.feedback(paris, 30, csat=3, nps=None)  # CSAT only
    s.feedback(paris, 60, csat=None, nps=6)  # NPS only
    s.feedback(paris, 90, csat=4, nps=9)
    s.feedback(paris, 120, csat=None, nps=7)  # a passive: in the answers, neither side
    s.feedback(paris, LATE + 30, csat=1, nps=0)  # 00:30 on the 3rd in Paris
    s.feedback(new_york, LATE + 30, csat=2, nps=9)  # 18:30 on the 2nd in New York
    s.feedback(new_york, -10 * 60, csat=5, nps=None)  # 18:00 on the 1st in New York
    return stored(tmp_path_factory, s), paris, new_york


def test_feedback_counts_in_its_queue_on_the_site_local_day_it_was_given(feedback) -> None:
    store, paris, new_york = feedback
    rows = run(store.connection, "feedback-sql", DAY, NEXT_DAY)
    assert sorted(rows) == sorted([(paris, DAY), (paris, NEXT_DAY), (new_york, DAY)])
    assert run(store.connection, "feedback-sql", EVE, EVE).keys() == {(new_york, EVE)}


def test_feedback_figures_leave_out_the_answers_not_given(feedback) -> None:
    store, paris, new_york = feedback
    rows = run(store.connection, "feedback-sql", DAY, NEXT_DAY)
    # CSAT 5, 3, 4: mean 4, two satisfied of three. NPS 10, 6, 9, 7: two promoters, one
    # detractor of four answers -> 100 * (2 - 1) / 4 = 25.
    day = rows[(paris, DAY)]
    assert {name: day[name] for name in day if name not in ("tenant_id", "queue_id")} == {
        "day": DAY,
        "responses": 5,
        "csat_responses": 3,
        "csat_mean": pytest.approx(4.0),
        "csat_satisfied": 2,
        "nps_responses": 4,
        "nps_promoters": 2,
        "nps_detractors": 1,
        "csat_satisfied_rate": pytest.approx(2 / 3),
        "nps": pytest.approx(25.0),
    }
    late = rows[(paris, NEXT_DAY)]
    assert (late["csat_mean"], late["csat_satisfied_rate"], late["nps"]) == (1, 0, -100)
    other = rows[(new_york, DAY)]
    assert (other["csat_satisfied"], other["nps_promoters"], other["nps"]) == (0, 1, 100)
    csat_only = run(store.connection, "feedback-sql", EVE, EVE)[(new_york, EVE)]
    assert (csat_only["csat_responses"], csat_only["nps_responses"]) == (1, 0)
    assert (csat_only["csat_mean"], csat_only["nps"]) == (5, None)


@pytest.fixture(scope="module")
def duty(tmp_path_factory: pytest.TempPathFactory) -> tuple[SinkStore, dict[str, str]]:
    s = Floor()
    paris = s.site_queue(str(uuid.uuid4()), "Europe/Paris")
    new_york = s.site_queue(str(uuid.uuid4()), "America/New_York")
    # Anne, assigned to Paris first: on duty 10:00-13:00 in Paris with a 30-minute pause, then
    # 23:30-00:30 across Paris's midnight; she serves 20 and 10 minutes.
    anne = s.agent(paris, new_york)
    s.status(anne, "available", 0)
    s.serve(anne, paris, issued=-5, called=10, started=12, done=32)
    s.status(anne, "paused", 60)
    s.status(anne, "available", 90)
    # A New York ticket (04:20 there, the 2nd): her site stays her first assigned queue's.
    s.serve(anne, new_york, issued=80, called=100, started=101, done=111)
    s.status(anne, "offline", 180)
    s.status(anne, "available", LATE - 30)
    s.status(anne, "offline", LATE + 30)
    # Bob, assigned nowhere, calls from New York: 16:00-20:00 there on the 2nd (21:00-01:00
    # UTC, across UTC's midnight), a 50-minute pause, one served 30 minutes and a no-show.
    bob = s.agent()
    four = 12 * 60  # 21:00 UTC, 16:00 in New York
    s.status(bob, "available", four)
    s.serve(bob, new_york, issued=four - 10, called=four + 10, started=four + 15, done=four + 45)
    no_show = s.issue(new_york, four + 50)
    s.do(no_show, "Called", four + 180, agent_id=bob, counter="2")
    s.do(no_show, "MarkedNoShow", four + 185)
    s.status(bob, "paused", four + 190)
    s.status(bob, "offline", four + 240)
    # Cleo, never assigned and never calling: at no site, so in UTC days: 23:30-00:30 UTC.
    cleo = s.agent()
    s.status(cleo, "available", LATE + 30)
    s.status(cleo, "offline", LATE + 90)
    # Dan never goes offline: counted up to his latest call, from Paris (where he called).
    dan = s.agent()
    s.status(dan, "available", 200)
    waiting = s.issue(paris, 220)
    s.do(waiting, "Called", 230, agent_id=dan, counter="3")
    # Eve: pauses and comes back; only the time not offline counts, nothing after offline.
    eve = s.agent(new_york)
    s.status(eve, "paused", 300)
    s.status(eve, "available", 310)
    s.status(eve, "offline", 370)
    s.status(eve, "offline", 400)  # never published twice by the application, harmless here
    agents = {"anne": anne, "bob": bob, "cleo": cleo, "dan": dan, "eve": eve}
    return stored(tmp_path_factory, s), agents


def figures(row: dict[str, Any]) -> tuple[Any, ...]:
    return (
        row["on_duty_seconds"],
        row["paused_seconds"],
        row["served"],
        row["services_counted"],
        row["service_total_seconds"],
    )


def test_an_agents_day_with_a_pause_counts_its_time_on_duty_and_utilisation(duty) -> None:
    store, agents = duty
    rows = run(store.connection, "duty-sql", DAY, NEXT_DAY)
    anne = rows[(agents["anne"], DAY)]
    # 10:00-13:00 (3 h, 30 min paused) and 23:30-00:00 in Paris; 20 + 10 min served.
    assert figures(anne) == (3 * 3600 + 1800, 1800, 2, 2, 1800)
    assert anne["utilisation"] == pytest.approx(1800 / 12600)
    assert anne["served_per_agent_hour"] == pytest.approx(2 / 3.5)
    assert figures(rows[(agents["anne"], NEXT_DAY)]) == (1800, 0, 0, 0, 0)
    eve = rows[(agents["eve"], DAY)]
    assert figures(eve) == (600 + 3600, 600, 0, 0, 0)
    assert eve["utilisation"] == 0


def test_time_on_duty_is_split_at_the_sites_midnight_or_utcs_without_a_site(duty) -> None:
    store, agents = duty
    rows = run(store.connection, "duty-sql", DAY, NEXT_DAY)
    # Bob's 21:00-01:00 UTC is 16:00-20:00 in New York, his latest call's site: one day.
    bob = rows[(agents["bob"], DAY)]
    assert figures(bob) == (4 * 3600, 3600 - 600, 1, 1, 1800)
    assert bob["utilisation"] == pytest.approx(1800 / 14400)
    assert bob["served_per_agent_hour"] == pytest.approx(0.25)
    assert (agents["bob"], NEXT_DAY) not in rows
    # Cleo has no site: 23:30-00:30 UTC falls in two UTC days.
    assert figures(rows[(agents["cleo"], DAY)]) == (1800, 0, 0, 0, 0)
    assert figures(rows[(agents["cleo"], NEXT_DAY)]) == (1800, 0, 0, 0, 0)


def test_an_agent_still_on_duty_counts_up_to_their_latest_call(duty) -> None:
    store, agents = duty
    dan = run(store.connection, "duty-sql", DAY, DAY)[(agents["dan"], DAY)]
    assert figures(dan) == (1800, 0, 0, 0, 0)
    assert (dan["utilisation"], dan["served_per_agent_hour"]) == (0, 0)


def test_the_range_leaves_out_agents_days_outside_it(duty) -> None:
    store, agents = duty
    later = run(store.connection, "duty-sql", NEXT_DAY, NEXT_DAY)
    assert set(later) == {(agents["anne"], NEXT_DAY), (agents["cleo"], NEXT_DAY)}
    assert run(store.connection, "duty-sql", EVE, EVE) == {}
