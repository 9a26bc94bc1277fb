"""The devices context: displays and kiosks (``Devices``), their ports and their views."""

from application.devices.devices import Devices
from application.devices.ports import DeviceCredential, DeviceCredentials, Presence, Seen
from application.devices.views import (
    DeviceAuthenticationFailed,
    DeviceNotFound,
    DeviceToken,
    DeviceView,
    DeviceWithSecret,
    WrongSite,
)

__all__ = [
    "DeviceAuthenticationFailed",
    "DeviceCredential",
    "DeviceCredentials",
    "DeviceNotFound",
    "DeviceToken",
    "DeviceView",
    "DeviceWithSecret",
    "Devices",
    "Presence",
    "Seen",
    "WrongSite",
]
