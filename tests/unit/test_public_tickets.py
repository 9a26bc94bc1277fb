"""Remote join and "my ticket": what a customer with only a link may see and do."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from application.public_tickets import PublicTickets, SiteClosed
from application.public_views import PublicContexts, end_of_local_day
from application.ticket_queries import TicketQueries
from domain.errors import Conflict, InvalidInput, MoreTimeUsed, ResourceNotFound, TicketNotFound
from infrastructure.identity.ticket_passes import HmacTicketPasses, derive_pass_key
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from tests.unit.customer_fakes import InMemoryCustomerProfiles
from tests.unit.world import MORNING, Clock, TransactionSpy, make_world


class MinuteEach:
    """Every waiting ticket waits a minute per place."""

    def estimate(self, tenant_id, queue_id, position):
        return 60 * position

    def estimate_all(self, tenant_id, waiting):
        return [60 * position for _, position in waiting]


def setup():
    app = TransactionSpy(
        env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(MORNING)
    )
    world = make_world(app=app, profiles=InMemoryCustomerProfiles())
    service = world.service("A")
    queue = world.queue(service)
    public = PublicTickets(
        world.app,
        PublicContexts(world.catalogue, world.queues, world.tickets, world.customers),
        TicketQueries(records=None, estimator=MinuteEach()),  # type: ignore[arg-type]
        HmacTicketPasses(derive_pass_key(b"s" * 32), clock=lambda: world.clock().timestamp()),
        more_time_places=3,
        clock=world.clock,
    )
    slug = world.app.repository.get(world.tenant_id).slug
    return world, public, slug, service, queue


def join(public, slug, world, service, name=None, phone=None):
    contact = public.check_contact(name, phone, "fr")
    return public.join(slug, world.site_id, service, contact)


def test_the_join_page_lists_the_services_of_the_sites_open_queues():
    world, public, slug, service, _queue = setup()
    world.queues.pause_queue(world.context, world.queue(world.service("B")))

    site = public.get_site(slug, world.site_id)

    assert site.open and site.name == "HQ" and site.languages == ["fr", "en"]
    assert [entry.id for entry in site.services] == [service]


def test_a_joined_ticket_is_followed_by_its_token_only():
    world, public, slug, service, _queue = setup()
    first = join(public, slug, world, service)
    second = join(public, slug, world, service, name="Ada", phone="+33 6 12 34 56 78")

    assert second.url == f"/t/{second.token}"
    mine = public.get_ticket(second.token)
    assert (mine.number, mine.status, mine.position, mine.eta_seconds) == (
        "A-002",
        "waiting",
        2,
        120,
    )
    assert public.get_ticket(first.token).number == "A-001"
    with pytest.raises(TicketNotFound):
        public.get_ticket(second.token[:-2] + ("AA" if second.token[-2:] != "AA" else "BB"))


def test_a_profile_is_made_only_when_a_name_or_phone_is_given():
    world, public, slug, service, _queue = setup()
    anonymous = join(public, slug, world, service)
    known = join(public, slug, world, service, phone="+33612345678")

    assert anonymous.ticket.customer_id is None
    customer = world.customers.get_customer(world.tenant_id, known.ticket.customer_id)
    assert customer.phone == "+33612345678"


def test_a_bad_phone_is_refused_before_anything_is_issued():
    _world, public, _slug, _service, _queue = setup()
    with pytest.raises(InvalidInput):
        public.check_contact(None, "12", "en")
    with pytest.raises(InvalidInput):
        public.check_contact(None, None, "de")


def test_more_time_moves_the_ticket_back_once():
    world, public, slug, service, _queue = setup()
    mine = join(public, slug, world, service)
    for _ in range(4):
        join(public, slug, world, service)

    moved = public.take_more_time(mine.token)

    assert (moved.position, moved.more_time_used) == (4, True)
    with pytest.raises(MoreTimeUsed):
        public.take_more_time(mine.token)


def test_only_a_waiting_ticket_can_be_cancelled_by_its_customer():
    world, public, slug, service, queue = setup()
    called, waiting = join(public, slug, world, service), join(public, slug, world, service)
    world.staffing.call_next(world.context, world.agent("7"), queue)

    shown = public.get_ticket(called.token)
    assert (shown.status, shown.counter) == ("called", "7")
    with pytest.raises(Conflict):
        public.cancel(called.token)
    assert public.cancel(waiting.token).status == "cancelled"


def test_a_token_stops_working_after_the_tickets_local_day():
    world, public, slug, service, _queue = setup()
    mine = join(public, slug, world, service)
    world.clock.now = end_of_local_day(world.clock.now, "Europe/Paris")

    with pytest.raises(TicketNotFound):
        public.get_ticket(mine.token)


def test_the_end_of_a_local_day_is_the_sites_midnight():
    moment = datetime(2024, 1, 15, 22, 30, tzinfo=UTC)  # 23:30 in Paris
    assert end_of_local_day(moment, "Europe/Paris") == datetime(2024, 1, 15, 23, 0, tzinfo=UTC)


def test_a_closed_site_takes_no_remote_tickets():
    world, public, slug, service, _queue = setup()
    world.catalogue.change_site(
        world.context,
        world.site_id,
        opening_hours={"sunday": [{"open": "09:00", "close": "10:00"}]},
    )  # the world's morning is a Monday

    site = public.get_site(slug, world.site_id)
    assert not site.open
    assert site.opens_at == datetime(2024, 1, 21, 8, 0, tzinfo=UTC)  # Sunday 09:00 in Paris
    with pytest.raises(SiteClosed) as refused:
        join(public, slug, world, service)
    assert refused.value.opens_at == site.opens_at


def test_another_tenants_slug_does_not_find_the_site():
    _world, public, slug, _service, _queue = setup()
    other, *_ = setup()
    with pytest.raises(ResourceNotFound):
        public.get_site(slug, other.site_id)


def test_a_site_is_open_within_todays_hours_and_closed_on_its_closed_dates():
    world, public, slug, service, _queue = setup()
    monday = {"monday": [{"open": "08:00", "close": "12:00"}]}  # the morning is 10:00 in Paris
    world.catalogue.change_site(world.context, world.site_id, opening_hours=monday)
    assert public.get_site(slug, world.site_id).open
    assert public.get_site(slug, world.site_id).opens_at is None
    assert join(public, slug, world, service).ticket.number == "A-001"

    world.catalogue.change_site(world.context, world.site_id, closed_dates=["2024-01-15"])
    assert not public.get_site(slug, world.site_id).open


def test_the_link_in_messages_opens_the_ticket_it_was_made_for_until_its_day_ends():
    world, public, _slug, _service, queue = setup()
    ticket = world.tickets.issue_ticket(world.context, queue)
    other = world.tickets.issue_ticket(world.context, queue)

    link = public.link_for(world.tenant_id, ticket, "Europe/Paris")

    assert link.startswith("/t/")
    token = link.removeprefix("/t/")
    assert public.get_ticket(token).number == ticket.number
    assert public.get_ticket(token).number != other.number
    expires = public.passes.verify(token).expires_at
    assert expires == end_of_local_day(ticket.issued_at, "Europe/Paris")
