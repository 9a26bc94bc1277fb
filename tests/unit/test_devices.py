"""The Device aggregate: registration, renaming, moving, presence transitions and revocation."""

from __future__ import annotations

from uuid import uuid4

import pytest

from domain.access import DEVICE_SCOPES, check_grantable
from domain.devices import Device, DeviceKind, DeviceRevoked
from domain.errors import InvalidInput


def _device(kind: str = "kiosk") -> Device:
    return Device(tenant_id=uuid4(), site_id=uuid4(), kind=kind, name="Entrance kiosk")


def _event_names(device: Device) -> list[str]:
    return [type(event).__qualname__ for event in device.collect_events()]


def test_a_registered_device_is_offline_and_not_revoked():
    device = _device("display")
    assert (device.kind, device.online, device.revoked) == ("display", False, False)
    assert _event_names(device) == ["Device.Registered"]


def test_an_unknown_kind_is_refused_naming_the_known_ones():
    with pytest.raises(InvalidInput, match="display, kiosk"):
        _device("printer")


def test_only_transitions_between_online_and_offline_become_events():
    device = _device()
    device.collect_events()
    assert device.go_online() is True
    assert device.go_online() is False  # already online: nothing recorded
    assert device.go_offline() is True
    assert device.go_offline() is False
    assert device.go_online() is True
    assert _event_names(device) == ["Device.WentOnline", "Device.WentOffline", "Device.WentOnline"]


def test_revoking_an_online_device_records_it_offline_first():
    device = _device()
    device.go_online()
    device.collect_events()
    device.revoke()
    assert (device.online, device.revoked) == (False, True)
    assert _event_names(device) == ["Device.WentOffline", "Device.Revoked"]


def test_a_revoked_device_cannot_change_come_online_or_be_revoked_again():
    device = _device()
    device.revoke()
    device.collect_events()
    assert device.go_online() is False
    for change in (
        lambda: device.rename("Other"),
        lambda: device.move(uuid4()),
        device.rotate_secret,
        device.revoke,
    ):
        with pytest.raises(DeviceRevoked):
            change()
    assert _event_names(device) == []


def test_moving_to_the_same_site_records_nothing_and_another_site_records_the_move():
    device = _device()
    device.collect_events()
    assert device.move(device.site_id) is False
    new_site = uuid4()
    assert device.move(new_site) is True
    device.rename("Entrance kiosk")  # unchanged name: nothing
    device.rename("Hall kiosk")
    assert device.site_id == new_site
    assert _event_names(device) == ["Device.Moved", "Device.Renamed"]


def test_a_display_only_reads_and_a_kiosk_only_issues_tickets():
    display = {str(scope) for scope in DEVICE_SCOPES[DeviceKind.DISPLAY]}
    kiosk = {str(scope) for scope in DEVICE_SCOPES[DeviceKind.KIOSK]}
    writes = {"tickets:write", "tickets:call", "queues:manage", "devices:manage"}
    assert not display & (writes | {"tickets:issue"})
    assert not kiosk & writes
    assert "tickets:issue" in kiosk


def test_staff_cannot_be_granted_what_only_devices_do():
    with pytest.raises(InvalidInput, match="reserved to devices: devices:ping"):
        check_grantable(["devices:ping"])
