"""Opening hours enforced: a site whose hours were never set is open at all times (as before),
once set (even to a week of closed days) tickets are refused outside them unless staff
override, and event streams recorded before "never set" existed still read as never set."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent

from domain.hours import WEEKDAYS
from domain.tenancy import Site, SiteClosed
from domain.tickets import Ticket
from tests.unit.world import MORNING, make_world

# The world's morning: Monday 15 January 2024, 10:00 in Paris.
MORNINGS = {"monday": [{"open": "08:00", "close": "09:30"}]}  # closed by 10:00
NINE_TO_FIVE = {day: [{"open": "09:00", "close": "17:00"}] for day in WEEKDAYS}
OPENS_AT = datetime(2024, 1, 22, 7, 0, tzinfo=UTC)  # next Monday 08:00 in Paris


def test_a_site_registered_without_hours_has_none_and_is_open_at_all_times():
    site = Site(tenant_id=uuid4(), name="Branch", timezone="Europe/Paris")
    assert site.opening_hours is None
    site.check_open(datetime(2024, 1, 14, 3, 0, tzinfo=UTC))  # a Sunday night


def test_closed_dates_alone_leave_the_hours_never_set():
    site = Site(tenant_id=uuid4(), name="Branch", timezone="Europe/Paris")
    site.change_hours(None, ["2024-01-15"])

    (changed,) = site.collect_events()[1:]
    assert changed.hours_set is False
    assert site.opening_hours is None
    with pytest.raises(SiteClosed):
        site.check_open(MORNING)
    site.check_open(datetime(2024, 1, 16, 3, 0, tzinfo=UTC))


def test_a_week_of_closed_days_once_set_is_closed_and_says_it_does_not_open():
    site = Site(tenant_id=uuid4(), name="Branch", timezone="Europe/Paris")
    site.change_hours({}, None)

    assert site.opening_hours == {day: [] for day in WEEKDAYS}
    with pytest.raises(SiteClosed) as refused:
        site.check_open(MORNING)
    assert refused.value.opens_at is None
    assert str(refused.value) == "Branch is closed now"


def test_a_closed_site_says_when_it_opens_next_in_its_own_time():
    site = Site(tenant_id=uuid4(), name="Branch", timezone="Europe/Paris", opening_hours=MORNINGS)
    with pytest.raises(SiteClosed) as refused:
        site.check_open(MORNING)
    assert refused.value.opens_at == OPENS_AT
    assert str(refused.value) == (
        "Branch is closed now; it opens at 2024-01-22 08:00 (Europe/Paris time)"
    )


# -- event streams recorded before hours could be "never set" ---------------------------------


def as_version_1(event: Any, mapper: Any, drop: str | None = None) -> Any:
    """``event`` stored as version 1 of its class wrote it (no class_version, no ``drop``
    field), then read back by today's mapper."""
    stored = mapper.to_stored_event(event)
    state = mapper.transcoder.decode(stored.state)
    state.pop("class_version", None)
    if drop is not None:
        state.pop(drop)
    old = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=mapper.transcoder.encode(state),
    )
    return mapper.to_domain_event(old)


def replay(events: list[Any]) -> Any:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


@pytest.mark.parametrize(
    ("registered_with", "changed_to", "expected"),
    [
        # Version 1 wrote a week of closed days for "nobody entered hours": never set.
        ({}, None, None),
        ({}, {}, None),
        (MORNINGS, None, MORNINGS),
        ({}, MORNINGS, MORNINGS),
    ],
)
def test_version_1_streams_with_a_week_of_closed_days_read_as_never_set(
    registered_with, changed_to, expected
):
    world = make_world()
    mapper = world.app.mapper
    hours = {day: registered_with.get(day, []) for day in WEEKDAYS}
    site = Site(tenant_id=uuid4(), name="Old", timezone="Europe/Paris", opening_hours=hours)
    if changed_to is not None:
        # Version 1 had no hours_set: a change of closed dates only repeated the hours.
        site._hours_changed(
            opening_hours={day: changed_to.get(day, []) for day in WEEKDAYS},
            closed_dates=["2024-12-25"],
            hours_set=True,
        )
    registered, *changes = site.collect_events()
    old = [as_version_1(registered, mapper)]
    old += [as_version_1(change, mapper, drop="hours_set") for change in changes]

    loaded = replay(old)
    if expected is None:
        assert loaded.opening_hours is None
    else:
        assert loaded.opening_hours == {day: expected.get(day, []) for day in WEEKDAYS}


def test_version_1_ticket_issues_were_never_overrides():
    world = make_world()
    ticket_id = world.tickets.issue_ticket(world.context, world.queue(world.service("A"))).id
    (issued,) = list(world.app.events.get(ticket_id))

    old = as_version_1(issued, world.app.mapper, drop="hours_override")

    assert old.hours_override is False
    assert replay([old]).hours_override is False


# -- issuing tickets ---------------------------------------------------------------------------


def test_tickets_are_issued_at_any_hour_while_the_sites_hours_were_never_set():
    world = make_world()
    queue = world.queue(world.service("A"))
    world.clock.now = datetime(2024, 1, 14, 2, 0, tzinfo=UTC)  # Sunday, 03:00 in Paris

    ticket = world.tickets.issue_ticket(world.context, queue)

    assert ticket.number == "A-001"
    assert world.app.repository.get(ticket.id).hours_override is False


def test_a_closed_site_refuses_a_ticket_and_the_line_stays_as_it_was():
    world = make_world()
    queue = world.queue(world.service("A"))
    world.catalogue.change_site(world.context, world.site_id, opening_hours=MORNINGS)

    with pytest.raises(SiteClosed) as refused:
        world.tickets.issue_ticket(world.context, queue)

    assert refused.value.opens_at == OPENS_AT
    assert world.queues.get_queue(world.tenant_id, queue).waiting == 0


def test_a_closed_date_refuses_tickets_even_while_hours_were_never_set():
    world = make_world()
    queue = world.queue(world.service("A"))
    world.catalogue.change_site(world.context, world.site_id, closed_dates=["2024-01-15"])

    with pytest.raises(SiteClosed) as refused:
        world.tickets.issue_ticket(world.context, queue)
    assert refused.value.opens_at == datetime(2024, 1, 15, 23, 0, tzinfo=UTC)  # local midnight


def test_staff_override_issues_the_ticket_and_records_the_override():
    world = make_world()
    queue = world.queue(world.service("A"))
    world.catalogue.change_site(world.context, world.site_id, opening_hours=MORNINGS)

    ticket = world.tickets.issue_ticket(world.context, queue, override_hours=True)

    assert ticket.status == "waiting" and ticket.position == 1
    assert world.app.repository.get(ticket.id).hours_override is True
    (issued,) = list(world.app.events.get(ticket.id))
    assert isinstance(issued, Ticket.Issued) and issued.hours_override is True


def test_an_override_while_open_is_not_recorded_as_one():
    world = make_world()
    queue = world.queue(world.service("A"))
    world.catalogue.change_site(world.context, world.site_id, opening_hours=NINE_TO_FIVE)

    ticket = world.tickets.issue_ticket(world.context, queue, override_hours=True)

    assert world.app.repository.get(ticket.id).hours_override is False


def test_the_site_view_shows_hours_never_set_as_null_and_set_ones_in_full():
    world = make_world()
    assert world.catalogue.get_site(world.tenant_id, world.site_id).opening_hours is None

    view = world.catalogue.change_site(world.context, world.site_id, opening_hours={})

    assert view.opening_hours == {day: [] for day in WEEKDAYS}
