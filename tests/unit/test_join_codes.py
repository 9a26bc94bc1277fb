"""One-time join codes with fakes: the tenant's setting, sending a code, and a join that needs
it (right once, wrong counted, expired, locked after five wrong guesses, nothing written on a
refusal)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from application.context import CommandContext
from application.join_codes import JoinCodeLocked, JoinCodes, JoinSettings, Redemption
from application.public_tickets import PublicTickets
from application.public_views import PublicContexts
from application.ticket_queries import TicketQueries
from domain.errors import InvalidInput
from domain.join_codes import (
    MAX_ATTEMPTS,
    JoinCodeInvalid,
    JoinCodeOff,
    JoinCodeRequired,
    code_digest,
    new_code,
    phone_key,
)
from infrastructure.identity.ticket_passes import HmacTicketPasses, derive_pass_key
from infrastructure.postgres.recorder import IN_MEMORY_PERSISTENCE_TOPIC
from tests.unit.customer_fakes import InMemoryCustomerProfiles
from tests.unit.world import MORNING, Clock, TransactionSpy, make_world

KEY = b"k" * 32
PHONE = "+33612345678"


class FakeSettings:
    def __init__(self) -> None:
        self.saved: dict[UUID, JoinSettings] = {}

    def get(self, tenant_id: UUID) -> JoinSettings | None:
        return self.saved.get(tenant_id)

    def put(self, tenant_id: UUID, settings: JoinSettings) -> None:
        self.saved[tenant_id] = settings


@dataclass
class FakeVault:
    """Redis's semantics in a dict: a time to live on a manual clock, wrong guesses counted."""

    now: float = 0.0
    kept: dict[str, tuple[str, int, float]] = field(default_factory=dict)

    def store(self, key: str, digest: str, ttl_seconds: int) -> None:
        self.kept[key] = (digest, 0, self.now + ttl_seconds)

    def redeem(self, key: str, digest: str, max_attempts: int) -> Redemption:
        found = self.kept.get(key)
        if found is None or found[2] <= self.now:
            self.kept.pop(key, None)
            return Redemption("missing")
        kept, wrong, expires = found
        ttl = int(expires - self.now)
        if wrong >= max_attempts:
            return Redemption("locked", 0, ttl)
        if kept == digest:
            del self.kept[key]
            return Redemption("ok", max_attempts - wrong, ttl)
        self.kept[key] = (kept, wrong + 1, expires)
        return Redemption("wrong", max_attempts - wrong - 1, ttl)


@dataclass
class FakeSender:
    sent: list[tuple[UUID, str, str, dict, str]] = field(default_factory=list)

    def send(self, tenant_id, phone, code, values, language) -> None:
        self.sent.append((tenant_id, phone, code, values, language))


class MinuteEach:
    def estimate(self, tenant_id, queue_id, position):
        return 60 * position

    def estimate_all(self, tenant_id, waiting):
        return [60 * position for _, position in waiting]


def codes(vault: FakeVault | None = None, sender: FakeSender | None = None) -> JoinCodes:
    digits = iter([42917, 123456, 7, 999999])
    return JoinCodes(
        FakeSettings(),
        vault or FakeVault(),
        sender or FakeSender(),
        KEY,
        ttl_seconds=600,
        clock=lambda: datetime(2026, 3, 2, 9, tzinfo=UTC),
        randbelow=lambda bound: next(digits) % bound,
    )


def switched_on(join_codes: JoinCodes, tenant_id: UUID) -> JoinCodes:
    join_codes.put_settings(CommandContext(tenant_id=tenant_id), "sms")
    return join_codes


def test_codes_are_six_digits_with_leading_zeros():
    assert new_code(lambda bound: 42917) == "042917"
    assert new_code(lambda bound: bound - 1) == "999999"


def test_the_stored_names_hold_neither_the_phone_nor_the_code():
    tenant = uuid4()
    key, digest = phone_key(KEY, tenant, PHONE), code_digest(KEY, tenant, PHONE, "042917")
    assert "612345678" not in key and "042917" not in digest
    assert phone_key(KEY, uuid4(), PHONE) != key  # another tenant, another key
    assert code_digest(b"x" * 32, tenant, PHONE, "042917") != digest  # the server's secret


def test_codes_are_off_until_the_tenant_turns_them_on():
    join_codes, tenant = codes(), uuid4()
    assert join_codes.get_settings(tenant).join_code == "off"
    join_codes.redeem(tenant, None, None)  # nothing asked
    with pytest.raises(JoinCodeOff):
        join_codes.send_code(tenant, PHONE, "fr", "HQ")

    saved = join_codes.put_settings(CommandContext(tenant_id=tenant), "sms")

    assert saved.join_code == "sms" and saved.updated_at is not None
    assert join_codes.get_settings(tenant) == saved
    with pytest.raises(InvalidInput):
        join_codes.put_settings(CommandContext(tenant_id=tenant), "email")


def test_a_sent_code_goes_to_the_phone_in_its_language_and_is_good_once():
    sender, tenant = FakeSender(), uuid4()
    join_codes = switched_on(codes(sender=sender), tenant)

    assert join_codes.send_code(tenant, PHONE, "fr", "HQ") == 600

    [(to_tenant, phone, code, values, language)] = sender.sent
    assert (to_tenant, phone, code, language) == (tenant, PHONE, "042917", "fr")
    assert values == {"code": "042917", "minutes": 10, "site": "HQ"}
    join_codes.redeem(tenant, PHONE, " 042917 ")
    with pytest.raises(JoinCodeInvalid) as reused:
        join_codes.redeem(tenant, PHONE, "042917")
    assert reused.value.attempts_left == 0 and "already used" in str(reused.value)


def test_a_code_is_needed_with_a_phone_when_the_tenant_requires_one():
    tenant = uuid4()
    join_codes = switched_on(codes(), tenant)
    with pytest.raises(JoinCodeRequired):
        join_codes.redeem(tenant, PHONE, None)
    with pytest.raises(JoinCodeRequired):
        join_codes.redeem(tenant, None, "042917")
    with pytest.raises(JoinCodeRequired):
        join_codes.redeem(tenant, PHONE, "  ")


def test_wrong_codes_count_down_then_lock_even_the_right_one_until_a_new_code():
    tenant = uuid4()
    join_codes = switched_on(codes(), tenant)
    join_codes.send_code(tenant, PHONE, "en", "HQ")  # 042917

    left = []
    for guess in ["000000", "12", "abcdef", "042918", "111111"]:
        with pytest.raises(JoinCodeInvalid) as wrong:
            join_codes.redeem(tenant, PHONE, guess)
        left.append(wrong.value.attempts_left)
    assert left == [4, 3, 2, 1, 0]
    with pytest.raises(JoinCodeLocked) as locked:
        join_codes.redeem(tenant, PHONE, "042917")
    assert 0 < locked.value.retry_after_seconds <= 600

    join_codes.send_code(tenant, PHONE, "en", "HQ")  # 123456, a fresh count
    join_codes.redeem(tenant, PHONE, "123456")
    assert MAX_ATTEMPTS == 5


def test_an_expired_code_is_refused_and_a_code_is_bound_to_its_phone_and_tenant():
    vault, tenant = FakeVault(), uuid4()
    join_codes = switched_on(codes(vault=vault), tenant)
    join_codes.send_code(tenant, PHONE, "en", "HQ")
    with pytest.raises(JoinCodeInvalid):
        join_codes.redeem(tenant, "+33699999999", "042917")
    elsewhere = uuid4()
    switched_on(join_codes, elsewhere)
    with pytest.raises(JoinCodeInvalid):
        join_codes.redeem(elsewhere, PHONE, "042917")

    vault.now += 600
    with pytest.raises(JoinCodeInvalid) as expired:
        join_codes.redeem(tenant, PHONE, "042917")
    assert "expired" in str(expired.value)


def public_world(join_codes: JoinCodes):
    app = TransactionSpy(
        env={"PERSISTENCE_MODULE": IN_MEMORY_PERSISTENCE_TOPIC}, clock=Clock(MORNING)
    )
    profiles = InMemoryCustomerProfiles()
    world = make_world(app=app, profiles=profiles)
    service = world.service("A")
    world.queue(service)
    public = PublicTickets(
        world.app,
        PublicContexts(world.catalogue, world.queues, world.tickets, world.customers),
        TicketQueries(records=None, estimator=MinuteEach()),  # type: ignore[arg-type]
        HmacTicketPasses(derive_pass_key(b"s" * 32), clock=lambda: world.clock().timestamp()),
        clock=world.clock,
        join_codes=join_codes,
    )
    slug = world.app.repository.get(world.tenant_id).slug
    return world, public, slug, service, profiles


def test_a_join_needs_the_code_and_a_refused_one_writes_nothing():
    sender = FakeSender()
    join_codes = codes(sender=sender)
    world, public, slug, service, profiles = public_world(join_codes)
    assert public.get_site(slug, world.site_id).join_code == "off"
    switched_on(join_codes, world.tenant_id)
    assert public.get_site(slug, world.site_id).join_code == "sms"
    contact = public.check_contact("Ada", "+33 6 12 34 56 78", "fr")

    assert public.send_join_code(slug, world.site_id, contact) == 600
    assert sender.sent[0][1] == PHONE
    with pytest.raises(JoinCodeRequired):
        public.join(slug, world.site_id, service, contact)
    with pytest.raises(JoinCodeInvalid):
        public.join(slug, world.site_id, service, contact, code="000000")
    assert profiles.rows == {}

    joined = public.join(slug, world.site_id, service, contact, code="042917")

    assert joined.ticket.number == "A-001"  # the refused joins issued nothing
    assert [row.phone_e164 for row in profiles.rows.values()] == [PHONE]
    with pytest.raises(JoinCodeInvalid):
        public.join(slug, world.site_id, service, contact, code="042917")
