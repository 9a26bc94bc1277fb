"""Devices against the real PostgreSQL and Redis: secrets kept out of events, racing pings, the
sweeper, and sign-in refused once revoked."""

from __future__ import annotations

import threading
import time
from uuid import UUID, uuid4

import pytest

from application.context import CommandContext
from application.devices import DeviceAuthenticationFailed, Devices, WrongSite
from application.errors import AuthenticationFailed
from domain.errors import QueueNotFound
from infrastructure.following.runner import ProjectionRunner, read_models
from infrastructure.identity.devices import PostgresDeviceCredentials
from infrastructure.redis.presence import RedisPresence

TTL_SECONDS = 2.0


@pytest.fixture
def devices(container) -> Devices:
    """Devices with a short presence window, on the session's database and Redis."""
    return Devices(
        container.app,
        PostgresDeviceCredentials(container.pool),
        container.identity.tokens,
        container.devices.secret_check,
        RedisPresence(container.redis, TTL_SECONDS),
    )


def _events(world, device_id: UUID) -> list[str]:
    return [type(e).__qualname__ for e in world.container.app.events.get(device_id)]


def _device_context(world, device_id: UUID) -> CommandContext:
    return CommandContext(tenant_id=world.tenant_id, actor_id=device_id, actor_role="device")


def test_the_secret_is_stored_hashed_and_never_in_an_event(world, devices):
    registered = devices.register_device(world.context, world.site_id, "kiosk", "Entrance")
    device_id = registered.device.id

    stored = devices.credentials.get(device_id)
    assert stored is not None and stored.secret_hash != registered.secret
    assert devices.hasher.verify(stored.secret_hash, registered.secret)
    for event in world.container.app.events.get(device_id):
        assert registered.secret not in repr(event.__dict__)
    tenant = world.container.app.repository.get(world.tenant_id)
    assert device_id in tenant.device_ids


def test_sign_in_gives_a_device_token_for_its_site_and_revocation_ends_it(world, devices):
    registered = devices.register_device(world.context, world.site_id, "display", "Hall")
    device_id = registered.device.id
    with pytest.raises(DeviceAuthenticationFailed):
        devices.sign_in(device_id, "not-the-secret")
    with pytest.raises(DeviceAuthenticationFailed):
        devices.sign_in(uuid4(), registered.secret)

    token = devices.sign_in(device_id, registered.secret)
    claims = devices.tokens.verify_access(token.access_token)
    assert claims is not None
    assert (claims.role, claims.site_id, claims.user_id) == ("device", world.site_id, device_id)
    assert claims.scopes == {"queues:read", "tickets:read", "stats:read", "devices:ping"}

    devices.revoke_device(world.context, device_id)
    assert devices.tokens.verify_access(token.access_token) is None
    with pytest.raises(AuthenticationFailed):
        devices.sign_in(device_id, registered.secret)
    assert _events(world, device_id)[-1] == "Device.Revoked"


def test_a_rotated_secret_replaces_the_old_one_and_signs_out_the_device(world, devices):
    registered = devices.register_device(world.context, world.site_id, "kiosk", "Entrance")
    device_id = registered.device.id
    old_token = devices.sign_in(device_id, registered.secret)

    rotated = devices.rotate_secret(world.context, device_id)

    assert rotated.secret != registered.secret
    assert devices.tokens.verify_access(old_token.access_token) is None
    with pytest.raises(DeviceAuthenticationFailed):
        devices.sign_in(device_id, registered.secret)
    assert devices.sign_in(device_id, rotated.secret).access_token


def test_a_device_reaches_only_the_queues_of_its_own_site(world, devices):
    other_site = world.container.catalogue.add_site(world.context, "Annex", "Europe/Paris")
    annex_queue = world.container.queues.open_queue(
        world.context, "Annex", other_site.id, [world.service_id], "fifo"
    )
    devices.check_queue_site(world.tenant_id, world.site_id, world.queue_id)
    devices.check_queue_site(world.tenant_id, None, annex_queue.id)  # staff: any site
    with pytest.raises(WrongSite):
        devices.check_queue_site(world.tenant_id, world.site_id, annex_queue.id)
    with pytest.raises(QueueNotFound):
        devices.check_queue_site(
            world.tenant_id, world.site_id, annex_queue.id, QueueNotFound("hidden")
        )
    directory = read_models()["directory"]
    app = world.container.app
    ProjectionRunner(directory, app.recorder, app.mapper).catch_up(world.container.read_engine)
    listed = world.container.queues.list_queues(world.tenant_id, site_id=other_site.id)
    assert [queue.id for queue in listed.items] == [annex_queue.id]


def test_racing_pings_record_one_went_online_and_the_sweeper_one_went_offline(world, devices):
    registered = devices.register_device(world.context, world.site_id, "display", "Hall")
    device_id = registered.device.id
    context = _device_context(world, device_id)
    start = threading.Barrier(8)
    errors: list[BaseException] = []

    def ping() -> None:
        try:
            start.wait()
            for _ in range(5):
                devices.ping(context, device_id)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=ping) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not errors
    assert _events(world, device_id) == ["Device.Registered", "Device.WentOnline"]
    assert devices.get_device(world.tenant_id, device_id).online is True
    devices.sweep()  # still alive: nothing to record
    assert _events(world, device_id) == ["Device.Registered", "Device.WentOnline"]

    time.sleep(TTL_SECONDS + 0.3)
    assert devices.get_device(world.tenant_id, device_id).online is False
    devices.sweep()
    devices.sweep()
    assert _events(world, device_id)[-1] == "Device.WentOffline"
    assert _events(world, device_id).count("Device.WentOffline") == 1

    view = devices.ping(context, device_id)
    assert view.online is True and view.last_seen_at is not None
    assert _events(world, device_id).count("Device.WentOnline") == 2


def test_devices_are_listed_with_presence_and_filtered_by_site_and_online(world, devices):
    hall = devices.register_device(world.context, world.site_id, "display", "Hall").device
    kiosk = devices.register_device(world.context, world.site_id, "kiosk", "Door").device
    other_site = world.container.catalogue.add_site(world.context, "Annex", "Europe/Paris")
    annex = devices.register_device(world.context, other_site.id, "kiosk", "Annex").device
    devices.ping(_device_context(world, kiosk.id), kiosk.id)

    def listed(**filters) -> list[UUID]:
        return [view.id for view in devices.list_devices(world.tenant_id, **filters).items]

    assert listed() == [hall.id, kiosk.id, annex.id]
    assert listed(site_id=world.site_id) == [hall.id, kiosk.id]
    assert listed(online=True) == [kiosk.id]
    assert listed(online=False, site_id=other_site.id) == [annex.id]
