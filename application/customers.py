"""Customer commands and queries: register, update, erase, find.

Personal data goes to the ``CustomerProfiles`` port as side writes that the event store applies
in the same transaction as the customer's events, so a profile is never written without its
event, nor an event without its profile. Erasure deletes the profile and records
``Customer.Erased`` together; tickets keep the customer's id and stay in statistics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from msgspec import UNSET, UnsetType

from application.app import SmartQueue
from application.base import retry_on_conflict
from application.context import CommandContext
from application.paging import Page, PageRequest, decode_cursor, encode_cursor
from application.ports import SideWrite
from application.views import CustomerView, PreferencesView, QuietHoursView
from domain.contact import (
    check_customer_name,
    check_metadata,
    check_push_token,
    check_region,
    normalise_email,
    normalise_phone,
)
from domain.customers import Channel, Customer, Preferences
from domain.errors import CustomerNotFound, InvalidInput, ResourceNotFound
from domain.tenancy import Tenant


@dataclass(frozen=True)
class CustomerProfile:
    """A customer's personal data. It lives in its own table, never in an event."""

    tenant_id: UUID
    customer_id: UUID
    name: str
    phone_e164: str | None
    email: str | None
    metadata: dict[str, Any]
    created_at: datetime
    push_token: str | None = None
    """The device registration token of the customer's app (FCM), where ``push`` reaches them."""


class CustomerProfiles(Protocol):
    """Personal data of customers. Writes are returned as side writes for the event store to
    apply atomically with the customer's events; reads go straight to the table."""

    def insert(self, profile: CustomerProfile) -> SideWrite:
        """Store a new customer's profile."""

    def update(self, profile: CustomerProfile) -> SideWrite:
        """Replace a customer's profile with ``profile``."""

    def delete(self, tenant_id: UUID, customer_id: UUID) -> SideWrite:
        """Delete a customer's profile for good (erasure)."""

    def get(self, tenant_id: UUID, customer_id: UUID) -> CustomerProfile | None:
        """The profile of a customer of ``tenant_id``, if any."""

    def page(
        self,
        tenant_id: UUID,
        *,
        after: tuple[datetime, UUID] | None,
        limit: int,
        phone_e164: str | None = None,
        name: str | None = None,
    ) -> list[CustomerProfile]:
        """Up to ``limit`` profiles of the tenant ordered by ``(created_at, customer_id)``,
        strictly after ``after``; filtered by exact phone and by name, case-insensitively
        contained."""


class Customers:
    """The tenant's customers and the erasure of their personal data."""

    def __init__(
        self,
        store: SmartQueue,
        profiles: CustomerProfiles,
        erasures: Sequence[Callable[[UUID, UUID], SideWrite]] = (),
    ) -> None:
        self.store = store
        self.profiles = profiles
        self.erasures = tuple(erasures)
        """Other personal data erased with the profile (such as feedback comments): each
        gives the side write deleting a customer's rows."""

    def register_customer(
        self,
        context: CommandContext,
        name: str,
        phone: str | None = None,
        phone_region: str | None = None,
        email: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        channels: Iterable[str] = (),
        language: str = "en",
        quiet_hours: Mapping[str, Any] | None = None,
        push_token: str | None = None,
    ) -> CustomerView:
        """Register a customer; the phone is stored in E.164, the email normalised."""
        if phone_region is not None and phone is None:
            raise InvalidInput("phone_region is only read together with phone")
        tenant = self.store.load(Tenant, context.tenant_id, context.tenant_id, ResourceNotFound)
        preferences = Preferences.parse(channels, language, quiet_hours)
        customer = Customer(tenant_id=tenant.id, preferences=preferences.as_dict())
        profile = CustomerProfile(
            tenant_id=tenant.id,
            customer_id=customer.id,
            name=check_customer_name(name),
            phone_e164=normalise_phone(phone, phone_region) if phone is not None else None,
            email=normalise_email(email) if email is not None else None,
            metadata=check_metadata(metadata or {}),
            created_at=self.store.clock(),
            push_token=check_push_token(push_token) if push_token is not None else None,
        )
        # A new aggregate under a fresh id cannot lose a race, so no retry is needed.
        self.store.save_in_context(context, customer, side_writes=[self.profiles.insert(profile)])
        return _customer_view(profile, customer)

    @retry_on_conflict
    def update_customer(
        self,
        context: CommandContext,
        customer_id: UUID,
        *,
        name: str | UnsetType = UNSET,
        phone: str | UnsetType | None = UNSET,
        phone_region: str | None = None,
        email: str | UnsetType | None = UNSET,
        metadata: Mapping[str, Any] | UnsetType = UNSET,
        channels: Iterable[str] | UnsetType = UNSET,
        language: str | UnsetType = UNSET,
        quiet_hours: Mapping[str, Any] | UnsetType | None = UNSET,
        push_token: str | UnsetType | None = UNSET,
    ) -> CustomerView:
        """Change only the given fields; ``None`` clears the phone, email, quiet hours or push
        token."""
        if phone_region is not None and phone is UNSET:
            raise InvalidInput("phone_region is only read together with phone")
        customer, profile = self._live(context.tenant_id, customer_id)
        changes: dict[str, Any] = {}
        if name is not UNSET:
            changes["name"] = check_customer_name(name)
        if phone is not UNSET:
            changes["phone_e164"] = (
                normalise_phone(phone, phone_region) if phone is not None else None
            )
        if email is not UNSET:
            changes["email"] = normalise_email(email) if email is not None else None
        if metadata is not UNSET:
            changes["metadata"] = check_metadata(metadata)
        if push_token is not UNSET:
            changes["push_token"] = check_push_token(push_token) if push_token is not None else None
        current = Preferences.from_dict(customer.preferences)
        quiet = current.as_dict()["quiet_hours"] if quiet_hours is UNSET else quiet_hours
        preferences = Preferences.parse(
            current.channels if channels is UNSET else channels,
            current.language if language is UNSET else language,
            quiet,
        )
        updated = dataclasses.replace(profile, **changes)
        customer.change_contact(_changed_fields(profile, updated))
        customer.change_preferences(preferences)
        writes = [self.profiles.update(updated)] if updated != profile else []
        self.store.save_in_context(context, customer, side_writes=writes)
        return _customer_view(updated, customer)

    @retry_on_conflict
    def set_push_token(
        self, context: CommandContext, customer_id: UUID, push_token: str | None
    ) -> None:
        """The customer's app registered for push (``push_token``: the push channel is then
        chosen too) or withdrew (``None``: the token is forgotten and push no longer chosen)."""
        token = check_push_token(push_token) if push_token is not None else None
        customer, profile = self._live(context.tenant_id, customer_id)
        current = Preferences.from_dict(customer.preferences)
        others = [name for name in current.channels if name != Channel.PUSH]
        channels = [*others, Channel.PUSH] if token is not None else others
        updated = dataclasses.replace(profile, push_token=token)
        customer.change_contact(_changed_fields(profile, updated))
        customer.change_preferences(
            dataclasses.replace(current, channels=Preferences.parse(channels).channels)
        )
        writes = [self.profiles.update(updated)] if updated != profile else []
        self.store.save_in_context(context, customer, side_writes=writes)

    @retry_on_conflict
    def erase_customer(self, context: CommandContext, customer_id: UUID) -> None:
        """Delete the customer's personal data for good and record the erasure, atomically."""
        customer, _ = self._live(context.tenant_id, customer_id)
        customer.erase()
        deletes = [self.profiles.delete(customer.tenant_id, customer.id)]
        deletes += [erase(customer.tenant_id, customer.id) for erase in self.erasures]
        self.store.save_in_context(context, customer, side_writes=deletes)

    def get_customer(self, tenant_id: UUID, customer_id: UUID) -> CustomerView:
        """A live customer of the tenant; an erased one is not found."""
        customer, profile = self._live(tenant_id, customer_id)
        return _customer_view(profile, customer)

    def list_customers(
        self,
        tenant_id: UUID,
        request: PageRequest,
        phone: str | None = None,
        phone_region: str | None = None,
        name: str | None = None,
    ) -> Page[CustomerView]:
        """The tenant's customers, oldest first; by exact phone (any input format, normalised)
        and by name, case-insensitively contained."""
        self.store.load(Tenant, tenant_id, tenant_id, ResourceNotFound)
        if phone_region is not None:
            check_region(phone_region)  # a bad region is an error even without a phone
        after = _decode(request.cursor) if request.cursor else None
        profiles = self.profiles.page(
            tenant_id,
            after=after,
            limit=request.limit + 1,  # one more tells whether another page follows
            phone_e164=normalise_phone(phone, phone_region) if phone else None,
            name=name.strip() if name and name.strip() else None,
        )
        shown = profiles[: request.limit]
        items = [
            _customer_view(p, self.store.load(Customer, p.customer_id, tenant_id, CustomerNotFound))
            for p in shown
        ]
        more = len(profiles) > request.limit
        return Page(items, _encode(shown[-1]) if more else None)

    def _live(self, tenant_id: UUID | None, customer_id: UUID) -> tuple[Customer, CustomerProfile]:
        customer = self.store.load(Customer, customer_id, tenant_id, CustomerNotFound)
        customer.check_live()
        profile = self.profiles.get(customer.tenant_id, customer.id)
        if profile is None:  # only between an erasure's commit and a stale load of the customer
            raise CustomerNotFound(f"customer {customer_id} was erased")
        return customer, profile


def _changed_fields(before: CustomerProfile, after: CustomerProfile) -> list[str]:
    pairs = {
        "name": (before.name, after.name),
        "phone": (before.phone_e164, after.phone_e164),
        "email": (before.email, after.email),
        "metadata": (before.metadata, after.metadata),
        "push_token": (before.push_token, after.push_token),
    }
    return [field for field, (old, new) in pairs.items() if old != new]


def _encode(profile: CustomerProfile) -> str:
    return encode_cursor(f"{profile.created_at.isoformat()}|{profile.customer_id}")


def _decode(cursor: str) -> tuple[datetime, UUID]:
    created_at, _, customer_id = decode_cursor(cursor).partition("|")
    try:
        return datetime.fromisoformat(created_at), UUID(customer_id)
    except ValueError:
        raise InvalidInput("cursor is not valid; pass the cursor of the previous page") from None


def _customer_view(profile: CustomerProfile, customer: Customer) -> CustomerView:
    preferences = Preferences.from_dict(customer.preferences)
    quiet = preferences.quiet_hours
    return CustomerView(
        id=customer.id,
        name=profile.name,
        phone=profile.phone_e164,
        email=profile.email,
        metadata=dict(profile.metadata),
        push_token=profile.push_token,
        preferences=PreferencesView(
            channels=list(preferences.channels),
            language=preferences.language,
            quiet_hours=QuietHoursView(start=quiet.start, end=quiet.end) if quiet else None,
        ),
        created_at=profile.created_at,
    )
