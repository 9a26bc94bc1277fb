"""The KPI read model on real PostgreSQL: commands through the application, the projection run
in batches, the query's rows equal the merge of a fresh fold of the whole log; a rebuild gives
the same rows and the live projection goes on from its state."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from application.analytics import kpi_range, merge_kpis
from infrastructure.following.rebuild import rebuild
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.postgres.tables import kpis
from projections.kpis import KpiFold
from tests.integration.conftest import TenantWorld, new_world, on_own_database
from tests.integration.projection_support import log_positions, logged_events, tracked
from tests.integration.roles_support import every_tenant, owner_engine
from tests.unit.test_kpis_agents import duty_figures
from tests.unit.test_kpis_scripted_week import figures

pytestmark = pytest.mark.integration

container, world = on_own_database()


def kpi_runner(container: Any, **options: Any) -> ProjectionRunner:
    return ProjectionRunner(
        read_models()["kpis"], container.app.recorder, container.app.mapper, **options
    )


def play(world: TenantWorld) -> None:
    """A few visits: served, no-show, abandoned, transferred and served, still waiting."""
    tickets, staffing, context = (
        world.container.tickets,
        world.container.staffing,
        world.context,
    )
    other = world.open_queue()
    first, second = world.add_available_agent(), world.add_available_agent()
    served = tickets.issue_ticket(context, world.queue_id, channel="kiosk").id
    no_show = tickets.issue_ticket(context, world.queue_id, channel="web").id
    abandoned = tickets.issue_ticket(context, world.queue_id).id
    tickets.issue_ticket(context, other)  # still waiting at the end
    assert staffing.call_next(context, first, world.queue_id).id == served
    tickets.start_ticket(context, served)
    tickets.close_ticket(context, served)
    assert staffing.call_next(context, second, world.queue_id).id == no_show
    tickets.mark_no_show(context, no_show)
    tickets.transfer_ticket(context, abandoned, other)
    moved = tickets.issue_ticket(context, world.queue_id).id
    tickets.cancel_ticket(context, moved)


def expected(container: Any, tenant_id: Any, groups: tuple[str, ...]) -> list[Any]:
    fold = KpiFold()
    fold.apply_all(logged_events(container))
    mine = [figures(b) for b in fold.buckets() if b.tenant_id == tenant_id]
    duty = [duty_figures(hour) for hour in fold.duty() if hour.tenant_id == tenant_id]
    return merge_kpis(mine, groups, duty)


def assert_same_rows(got: list[Any], want: list[Any]) -> None:
    """The rows PostgreSQL summed equal those of the fold merged in Python, up to the order
    floating-point sums were added in."""
    assert len(got) == len(want)
    for mine, theirs in zip(got, want, strict=True):
        for name in mine.__struct_fields__:
            value, expected_value = getattr(mine, name), getattr(theirs, name)
            if isinstance(value, float) and isinstance(expected_value, float):
                assert value == pytest.approx(expected_value, rel=1e-12, abs=1e-9), name
            else:
                assert value == expected_value, name


def the_range(groups: str) -> Any:
    today = date.today()
    return kpi_range(str(today - timedelta(days=1)), str(today + timedelta(days=1)), groups or None)


def test_commands_projected_in_batches_answer_the_rows_of_a_fold_and_a_rebuild_the_same(
    container, world
):
    engine = container.read_engine
    play(world)
    kpi_runner(container, batch_size=3).catch_up(engine)
    assert tracked(engine, "kpis") == log_positions(container)[-1]
    analytics = container.analytics
    for groups in (
        "",
        "queue,agent",
        "site,service,day,hour",
        "queue,week,month",
        "site,agent,weekday,hour",
        "week",
        "month,weekday",
    ):
        report = analytics.get_kpis(world.tenant_id, the_range(groups))
        assert_same_rows(
            report.items, expected(container, world.tenant_id, the_range(groups).group_by)
        )
    [whole] = analytics.get_kpis(world.tenant_id, the_range("")).items
    assert (whole.arrivals, whole.served, whole.no_shows, whole.cancellations) == (6, 1, 1, 1)
    assert (whole.abandonments, whole.transferred_out) == (1, 1)
    assert whole.arrivals_by_channel == {"api": 3, "kiosk": 1, "transfer": 1, "web": 1}
    assert whole.waits_counted == 2

    before = analytics.get_kpis(world.tenant_id, the_range("queue,agent,hour")).items
    play(world)  # the live projection is behind when the rebuild swaps in
    rebuild(
        read_models()["kpis"],
        owner_engine(container),
        container.app.recorder,
        container.app.mapper,
        batch_size=4,
    )
    after = analytics.get_kpis(world.tenant_id, the_range("queue,agent,hour")).items
    assert_same_rows(after, expected(container, world.tenant_id, ("queue", "agent", "hour")))
    assert after != before
    play(world)  # the live name goes on from the rebuilt state
    kpi_runner(container).catch_up(engine)
    for groups in ("", "agent,day"):
        report = analytics.get_kpis(world.tenant_id, the_range(groups))
        assert_same_rows(
            report.items, expected(container, world.tenant_id, the_range(groups).group_by)
        )


def test_buckets_emptied_by_a_call_are_not_left_in_the_table(container, world):
    engine = container.read_engine
    agent = world.add_available_agent()
    world.container.tickets.issue_ticket(world.context, world.queue_id)
    kpi_runner(container).catch_up(engine)  # the visit sits under no agent
    world.container.staffing.call_next(world.context, agent, world.queue_id)
    kpi_runner(container).catch_up(engine)  # its call moves it to the agent
    with every_tenant(engine) as connection:
        stored = connection.execute(
            select(kpis.c.agent_id, func.sum(kpis.c.arrivals))
            .where(kpis.c.tenant_id == world.tenant_id)
            .group_by(kpis.c.agent_id)
        ).all()
    assert stored == [(agent, 1)]


def test_another_tenants_buckets_are_never_read(container, world):
    engine = container.read_engine
    stranger = new_world(container, "k", "Another tenant")
    play(world)
    play(stranger)
    kpi_runner(container).catch_up(engine)
    mine = container.analytics.get_kpis(world.tenant_id, the_range("site")).items
    theirs = container.analytics.get_kpis(stranger.tenant_id, the_range("site")).items
    assert [row.site_id for row in mine] == [world.site_id]
    assert [row.site_id for row in theirs] == [stranger.site_id]
    assert mine[0].arrivals == theirs[0].arrivals == 6
