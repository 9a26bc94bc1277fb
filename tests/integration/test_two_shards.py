"""Two event-store shards in one test (docs/sharding.md): tenants placed on each by one router,
their commands run on their shard's container, then each shard's projections and relay over its
own log. Every read model is right on its own shard and holds nothing of the other's tenants;
on the one broker, every event of both shards arrives exactly once, each aggregate's in version
order, with the contract unchanged."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from uuid import UUID

import msgspec
import psycopg
import pytest

from application.audit import AuditFilter
from application.context import CommandContext
from application.paging import PageRequest
from domain.errors import DuplicateResource
from domain.ownership import tenant_of
from domain.platform import PLATFORM_ID, Platform
from domain.tenancy import Tenant
from infrastructure.container import Container, build_container
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.kafka.relay import relay_lag
from infrastructure.migration import migrate
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.sharding import ShardMap, ShardRouter
from tests.conftest import owner_url, runtime_database, settings_for
from tests.integration.conftest import TenantWorld, on_own_broker
from tests.integration.kafka_support import Received, consume, relay_in_thread_until

pytestmark = pytest.mark.integration

SHARDS = ("east", "west")  # "east" also holds the shard map (the directory)
TENANTS = 4
TICKETS = 5

kafka_bootstrap = on_own_broker()


@pytest.fixture(scope="module")
def shards(
    database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Container]]:
    """A container on a database of its own per shard, as two event-store servers would be."""
    server_url = owner_url(database_url)
    names = {shard: f"sq_shard_{shard}_{uuid.uuid4().hex[:8]}" for shard in SHARDS}
    built: dict[str, Container] = {}
    try:
        for shard, name in names.items():
            with psycopg.connect(server_url, autocommit=True) as connection:
                connection.execute(f"CREATE DATABASE {name}")
            home = tmp_path_factory.mktemp(f"shard-{shard}")
            settings = settings_for(runtime_database(server_url, name), home, redis_url)
            migrate(settings)
            built[shard] = build_container(settings)
        yield built
    finally:
        for container in built.values():
            container.close()
        with psycopg.connect(server_url, autocommit=True) as connection:
            for name in names.values():
                connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def router(shards: dict[str, Container]) -> Iterator[ShardRouter]:
    directory = sqlalchemy_engine(shards["east"].database_url, pool_size=2)
    yield ShardRouter(shards, ShardMap(directory), directory="east")
    directory.dispose()


def a_morning(container: Container, tenant_id: UUID, slug: str) -> dict[UUID, str]:
    """A site, a service, a queue and an agent; tickets issued, two called, one served. The
    status each ticket must end with."""
    context = CommandContext.system(tenant_id, reason="test")
    site = container.catalogue.add_site(context, "Main", "Europe/Paris")
    service = container.catalogue.add_service(context, "Accounts", "A", target_wait_minutes=10)
    queue = container.queues.open_queue(context, "Main", site.id, [service.id], "fifo")
    world = TenantWorld(container, tenant_id, slug, site.id, service.id, queue.id)
    agent = world.add_available_agent()
    statuses = {
        container.tickets.issue_ticket(context, queue.id).id: "waiting" for _ in range(TICKETS)
    }
    served = container.staffing.call_next(context, agent, queue.id)
    assert served is not None
    container.tickets.close_ticket(context, container.tickets.start_ticket(context, served.id).id)
    statuses[served.id] = "completed"
    second = container.staffing.call_next(context, agent, queue.id)
    assert second is not None
    statuses[second.id] = "called"
    return statuses


def follow(container: Container, bootstrap: str) -> int:
    """The shard's projections and relay, each over the shard's own log, up to its head."""
    head = container.app.recorder.max_notification_id() or 0
    engine = sqlalchemy_engine(container.database_url, pool_size=1)
    try:
        for model in read_models().values():
            ProjectionRunner(model, container.app.recorder, container.app.mapper).catch_up(engine)
    finally:
        engine.dispose()
    relay_in_thread_until(container, bootstrap, head)
    return head


def envelopes_by_event_id(received: list[Received]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = defaultdict(list)
    for message in received:
        envelope = msgspec.json.decode(message.value)
        found[envelope["event_id"]].append(envelope)
    return found


def test_two_shards_hold_their_own_tenants_and_their_followers_publish_each_event_once(
    shards: dict[str, Container], router: ShardRouter, kafka_bootstrap: str
) -> None:
    system = CommandContext.system(None)
    slugs = [f"shard-{n}-{uuid.uuid4().hex[:8]}" for n in range(TENANTS)]
    tenants = {
        router.create_tenant(system, slug, f"Tenant {n}"): slug for n, slug in enumerate(slugs)
    }
    # Least loaded first: the tenants alternate between the shards.
    assert Counter(router.shard_of(tenant) for tenant in tenants) == {"east": 2, "west": 2}
    assert router.for_slug(slugs[1]) is router.for_tenant(Tenant.create_id(slugs[1]))

    # A slug is unique across the shards: asked of the shard that does not hold it, refused,
    # and the refused creation leaves no placement behind.
    first = Tenant.create_id(slugs[0])
    elsewhere = next(shard for shard in SHARDS if shard != router.shard_of(first))
    with pytest.raises(DuplicateResource):
        router.create_tenant(system, slugs[0], "Again", shard=elsewhere)
    assert router.map.tenants_by_shard() == {"east": 2, "west": 2}
    assert shards[elsewhere].app.find(Tenant, first) is None
    # The platform's directory of tenants is the directory shard's alone.
    platform = shards["east"].app.find(Platform, PLATFORM_ID)
    assert platform is not None and set(platform.tenant_ids) == set(tenants)
    assert shards["west"].app.find(Platform, PLATFORM_ID) is None

    expected = {
        tenant: a_morning(router.for_tenant(tenant), tenant, slug)
        for tenant, slug in tenants.items()
    }
    heads = {shard: follow(container, kafka_bootstrap) for shard, container in shards.items()}

    for tenant, statuses in expected.items():
        home = router.for_tenant(tenant)
        other = next(container for container in shards.values() if container is not home)
        # Its shard's read models have the morning exactly: tickets, the queue's waiting count,
        # an audit entry per event of the tenant; the other shard's have nothing of it.
        for ticket_id, status in statuses.items():
            assert home.ticket_queries.get_ticket(tenant, ticket_id).status == status
        [queue] = home.queues.list_queues(tenant).items
        assert queue.waiting == TICKETS - 2
        assert other.queues.list_queues(tenant).items == []
        audit = home.audit.search(tenant, AuditFilter(), PageRequest(limit=200)).items
        assert len(audit) == len(tenant_events(home, tenant))
        # Only the platform's own record of the tenant lives elsewhere: on the directory shard.
        elsewhere = other.audit.search(tenant, AuditFilter(), PageRequest(limit=200)).items
        assert [entry.event_type for entry in elsewhere] in ([], ["Platform.TenantAdded"])
        assert not elsewhere or other is shards["east"]

    # Every event of both shards on the broker exactly once; per aggregate (the record key),
    # versions in order; each envelope's log position is its shard's.
    stored = {
        f"{event.originator_id}:{event.originator_version}": (shard, position)
        for shard, container in shards.items()
        for position, event in events_of(container)
    }
    received = consume(kafka_bootstrap, set(), event_ids=set(stored))
    by_id = envelopes_by_event_id(received)
    assert set(by_id) == set(stored)
    assert [event_id for event_id, copies in by_id.items() if len(copies) > 1] == []
    for event_id, (shard, position) in stored.items():
        assert by_id[event_id][0]["log_position"] == position
        assert position <= heads[shard]
    versions: dict[str, list[int]] = defaultdict(list)
    for message in received:
        envelope = msgspec.json.decode(message.value)
        versions[message.key].append(envelope["aggregate_version"])
    assert all(found == sorted(found) for found in versions.values())
    for shard, container in shards.items():
        assert relay_lag(container.read_engine, container.app.recorder).behind == 0, shard


def events_of(container: Container) -> list[tuple[int, object]]:
    """Every event of the container's log with its position."""
    found = []
    start = 0
    while batch := container.app.recorder.select_notifications(
        start=start, limit=1000, inclusive_of_start=False
    ):
        found += [(n.id, container.app.mapper.to_domain_event(n)) for n in batch]
        start = batch[-1].id
    return found


def tenant_events(container: Container, tenant: UUID) -> list[object]:
    """The events of ``tenant`` in the container's log (by the metadata every save stamps)."""
    return [
        event
        for _, event in events_of(container)
        if tenant_of(event, dict(getattr(event, "metadata", None) or {})) == tenant
    ]
