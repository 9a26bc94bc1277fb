"""Feedback: validation, one per visit, the figures, and erasure of comments."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from application.appointments import Appointments
from application.check_in import CheckIns
from application.customers import Customers
from application.feedback import Feedbacks
from application.feedback_reports import FeedbackFilter, FeedbackReports
from application.paging import PageRequest
from domain.errors import InvalidInput, TicketNotFound
from domain.feedback import (
    FeedbackGiven,
    VisitNotFinished,
    check_scores,
    feedback_id,
    summarise,
)
from infrastructure.identity.ticket_passes import HmacTicketPasses
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from tests.unit.customer_fakes import InMemoryCustomerProfiles, MemoryWrite
from tests.unit.world import MORNING, Clock, TransactionSpy, make_world


class MemoryComments:
    """Feedback comments in a dict, written only when the save succeeds."""

    def __init__(self) -> None:
        self.rows = {}

    def insert(self, comment):
        return MemoryWrite(
            lambda: self.rows.__setitem__((comment.tenant_id, comment.feedback_id), comment)
        )

    def delete_for_customer(self, tenant_id, customer_id):
        def change():
            for key, row in list(self.rows.items()):
                if row.tenant_id == tenant_id and row.customer_id == customer_id:
                    del self.rows[key]

        return MemoryWrite(change)

    def get(self, tenant_id, feedback_id):
        row = self.rows.get((tenant_id, feedback_id))
        return row.comment if row else None


def setup():
    app = TransactionSpy(
        env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(MORNING)
    )
    world = make_world(app=app, profiles=InMemoryCustomerProfiles())
    comments = MemoryComments()
    world.customers = Customers(app, world.customers.profiles, [comments.delete_for_customer])
    passes = HmacTicketPasses(b"f" * 32, clock=lambda: world.clock().timestamp())
    feedbacks = Feedbacks(app, passes, comments, clock=world.clock)
    service = world.service("A")
    queue = world.queue(service)
    return world, feedbacks, comments, queue


def served_ticket(world, queue, customer_id=None):
    """A ticket issued, called, served and completed; returns it."""
    agent = world.agent()
    world.tickets.issue_ticket(world.context, queue, customer_id=customer_id)
    ticket = world.staffing.call_next(world.context, agent, queue)
    world.tickets.start_ticket(world.context, ticket.id)
    return world.tickets.close_ticket(world.context, ticket.id), agent


def link_token(feedbacks, world, ticket):
    return feedbacks.feedback_link(world.tenant_id, ticket.id, world.clock()).split("/")[-1]


@pytest.mark.parametrize(
    ("csat", "nps", "tags", "comment", "problem"),
    [
        (None, None, [], None, "at least one"),
        (0, None, [], None, "csat"),
        (6, None, [], None, "csat"),
        (True, None, [], None, "csat"),
        (None, 11, [], None, "nps"),
        (None, -1, [], None, "nps"),
        (3, None, ["rude"], None, "unknown tag"),
        (3, None, [], "x" * 1001, "at most 1000"),
    ],
)
def test_bad_answers_are_refused_with_the_rule_they_break(csat, nps, tags, comment, problem):
    with pytest.raises(InvalidInput, match=problem):
        check_scores(csat, nps, tags, comment)


def test_good_answers_keep_their_tags_once_and_a_blank_comment_is_none():
    scores = check_scores(5, 0, ["staff", "staff", "waiting_time"], "   ")

    assert (scores.csat, scores.nps, scores.tags, scores.comment) == (
        5,
        0,
        ("staff", "waiting_time"),
        None,
    )


def test_the_figures_match_hand_computed_values():
    # CSAT answers 5, 4, 4, 2, 1 -> average 16 / 5 = 3.2.
    # NPS answers 10, 9, 8, 6, 0, 7 -> 2 promoters, 2 detractors of 6 -> 0; one row has no CSAT.
    answers = [(5, 10), (4, 9), (4, 8), (2, 6), (1, 0), (None, 7)]

    figures = summarise(answers, completed=12)

    assert figures.responses == 6
    assert figures.response_rate == pytest.approx(0.5)
    assert figures.csat_average == pytest.approx(3.2)
    assert figures.csat_distribution == {1: 1, 2: 1, 3: 0, 4: 2, 5: 1}
    assert figures.nps == pytest.approx(0.0)
    assert figures.nps_answers == 6


def test_nps_counts_promoters_minus_detractors_in_percent():
    # 3 promoters (9, 10, 10), 1 detractor (6), 1 passive (7, 8 not counted) of 5 -> 40 - 20.
    figures = summarise([(None, 9), (None, 10), (None, 10), (None, 6), (None, 7)], completed=5)

    assert figures.nps == pytest.approx(40.0)
    assert figures.csat_average is None
    assert figures.response_rate == 1.0


def test_no_answers_give_no_figures_rather_than_zeros():
    figures = summarise([], completed=0)

    assert (figures.csat_average, figures.nps, figures.response_rate) == (None, None, None)


def test_a_completed_visit_takes_one_feedback_linked_to_where_and_by_whom_it_was_served():
    world, feedbacks, _comments, queue = setup()
    ticket, agent = served_ticket(world, queue)
    token = link_token(feedbacks, world, ticket)

    given = feedbacks.submit_feedback(token, csat=4, nps=9, tags=["staff"], comment="Merci !")

    assert given.id == feedback_id(ticket.id)
    assert (given.site_id, given.queue_id, given.agent_id) == (world.site_id, queue, agent)
    assert (given.csat, given.nps, given.tags, given.comment) == (4, 9, ["staff"], "Merci !")
    assert feedbacks.get_request(token).given is True
    assert feedbacks.get_feedback(world.tenant_id, given.id).comment == "Merci !"
    stored = b"".join(e.state for e in world.app.recorder.select_events(given.id)).decode()
    assert "Merci" not in stored


def test_a_second_submit_for_the_same_visit_is_refused_and_changes_nothing():
    world, feedbacks, comments, queue = setup()
    ticket, _ = served_ticket(world, queue)
    token = link_token(feedbacks, world, ticket)
    feedbacks.submit_feedback(token, csat=2)

    with pytest.raises(FeedbackGiven):
        feedbacks.submit_feedback(token, csat=5, comment="changed my mind")

    assert feedbacks.get_feedback(world.tenant_id, feedback_id(ticket.id)).csat == 2
    assert comments.rows == {}


def test_a_race_lost_on_the_event_store_also_reads_as_feedback_given():
    world, feedbacks, _comments, queue = setup()
    ticket, _ = served_ticket(world, queue)
    token = link_token(feedbacks, world, ticket)
    feedbacks.store.find = lambda cls, aggregate_id: None  # both submitters saw none yet
    feedbacks.submit_feedback(token, nps=10)

    with pytest.raises(FeedbackGiven):
        feedbacks.submit_feedback(token, nps=3)


def test_a_visit_not_completed_takes_no_feedback():
    world, feedbacks, _, queue = setup()
    waiting = world.tickets.issue_ticket(world.context, queue)

    with pytest.raises(VisitNotFinished):
        feedbacks.submit_feedback(link_token(feedbacks, world, waiting), csat=3)


def test_a_forged_or_expired_link_reads_as_a_missing_ticket():
    world, feedbacks, _, queue = setup()
    ticket, _ = served_ticket(world, queue)
    token = link_token(feedbacks, world, ticket)

    with pytest.raises(TicketNotFound):
        feedbacks.submit_feedback(token[:-2] + "AA", csat=3)
    world.clock.advance(days=7, seconds=1)
    with pytest.raises(TicketNotFound):
        feedbacks.get_request(token)


def test_erasing_the_customer_removes_the_comment_and_keeps_the_scores():
    world, feedbacks, _comments, queue = setup()
    customer = world.customers.register_customer(world.context, "Jeanne Dupont")
    ticket, _ = served_ticket(world, queue, customer_id=customer.id)
    given = feedbacks.submit_feedback(
        link_token(feedbacks, world, ticket), csat=1, nps=2, comment="Trop long"
    )
    other_ticket, _ = served_ticket(world, queue)
    other = feedbacks.submit_feedback(
        link_token(feedbacks, world, other_ticket), csat=5, comment="Parfait"
    )

    world.customers.erase_customer(world.context, customer.id)

    erased = feedbacks.get_feedback(world.tenant_id, given.id)
    assert (erased.csat, erased.nps, erased.comment) == (1, 2, None)
    assert feedbacks.get_feedback(world.tenant_id, other.id).comment == "Parfait"


def test_another_tenants_feedback_is_not_found():
    world, feedbacks, _, queue = setup()
    ticket, _ = served_ticket(world, queue)
    given = feedbacks.submit_feedback(link_token(feedbacks, world, ticket), csat=3)

    with pytest.raises(Exception, match="no feedback"):
        feedbacks.get_feedback(uuid4(), given.id)


class NoRecords:
    """A read model with nothing in it yet."""

    def page(self, tenant_id, where, after, limit):
        return []

    def answers(self, tenant_id, where, group_by):
        return []

    def completed(self, tenant_id, where, group_by):
        return {}


def test_an_empty_read_model_lists_nothing_and_has_no_figures():
    reports = FeedbackReports(NoRecords())

    page = reports.list_feedback(uuid4(), FeedbackFilter(), PageRequest())
    (overall,) = reports.feedback_stats(uuid4(), FeedbackFilter())

    assert (page.items, page.next_cursor) == ([], None)
    assert (overall.responses, overall.completed, overall.nps) == (0, 0, None)
    assert reports.feedback_stats(uuid4(), FeedbackFilter(), "agent") == []
    with pytest.raises(InvalidInput, match="group_by"):
        reports.feedback_stats(uuid4(), FeedbackFilter(), "hour")


def test_feedback_on_a_visit_an_appointment_began_records_the_appointment():
    world, feedbacks, _, queue = setup()
    service_id = world.queues.get_queue(world.tenant_id, queue).service_ids[0]
    world.catalogue.change_service(world.context, service_id, booking={"capacity": 2})
    start = (world.clock() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    appointment = Appointments(world.app).book_appointment(
        world.context, world.site_id, service_id, start
    )
    world.clock.now = start
    ticket = CheckIns(world.app).check_in_appointment(world.context, appointment.id).ticket
    agent = world.agent()
    assert world.staffing.call_next(world.context, agent, queue).id == ticket.id
    world.tickets.start_ticket(world.context, ticket.id)
    closed = world.tickets.close_ticket(world.context, ticket.id)
    plain, _ = served_ticket(world, queue)

    given = feedbacks.submit_feedback(link_token(feedbacks, world, closed), csat=5)
    walk_in = feedbacks.submit_feedback(link_token(feedbacks, world, plain), nps=7)
    assert given.appointment_id == appointment.id and walk_in.appointment_id is None
    assert feedbacks.get_feedback(world.tenant_id, given.id).appointment_id == appointment.id
    with pytest.raises(InvalidInput, match="origin"):
        FeedbackFilter(origin="kiosk")
