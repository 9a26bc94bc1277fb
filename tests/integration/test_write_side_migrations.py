"""The write-side tables (credentials, customer profiles, idempotency keys, device credentials)
come from Alembic revision 0007: a fresh database gets them, a database made when ``migrate`` ran
them as ``CREATE TABLE IF NOT EXISTS`` strings upgrades with its rows kept, and the revision
downgrades and upgrades again. Each test has databases of its own on the session's server."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from psycopg import sql

from infrastructure.migration import MIGRATIONS, migrate
from infrastructure.postgres.sql import sqlalchemy_engine
from infrastructure.postgres.tenancy import set_tenant
from tests.conftest import owner_url, runtime_database, settings_for

# The latest revision (0007 or a later one): upgrading goes all the way.
HEAD = ScriptDirectory(str(MIGRATIONS)).get_current_head()

WRITE_SIDE_TABLES = (
    "identity_credentials",
    "customer_profiles",
    "idempotency_keys",
    "device_credentials",
)

# What ``migrate`` ran on every start before revision 0007 (the stores' SCHEMA strings, verbatim
# but for the idempotency key's ``applied`` column, added by an ALTER that came later).
OLD_SCHEMA = """
CREATE TABLE IF NOT EXISTS identity_credentials (
    user_id       uuid PRIMARY KEY,
    tenant_id     uuid NOT NULL,
    email         text NOT NULL,
    password_hash text NOT NULL,
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS identity_credentials_email ON identity_credentials (lower(email));
DROP TABLE IF EXISTS identity_tokens;
CREATE TABLE IF NOT EXISTS customer_profiles (
    tenant_id   uuid NOT NULL,
    customer_id uuid NOT NULL,
    name        text NOT NULL,
    phone_e164  text,
    email       text,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, customer_id)
);
CREATE INDEX IF NOT EXISTS customer_profiles_order
    ON customer_profiles (tenant_id, created_at, customer_id);
CREATE INDEX IF NOT EXISTS customer_profiles_phone
    ON customer_profiles (tenant_id, phone_e164) WHERE phone_e164 IS NOT NULL;
CREATE TABLE IF NOT EXISTS idempotency_keys (
    tenant_id           uuid NOT NULL,
    key                 text NOT NULL,
    request_fingerprint text NOT NULL,
    state               text NOT NULL CHECK (state IN ('in_flight', 'completed')),
    claim_id            uuid NOT NULL,
    response_status     smallint,
    response_headers    jsonb,
    response_body       bytea,
    created_at          timestamptz NOT NULL,
    locked_until        timestamptz,
    PRIMARY KEY (tenant_id, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_created_at ON idempotency_keys (created_at);
CREATE TABLE IF NOT EXISTS device_credentials (
    device_id   uuid PRIMARY KEY,
    tenant_id   uuid NOT NULL,
    secret_hash text NOT NULL,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);
"""
OLD_APPLIED_COLUMN = (
    "ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS applied boolean NOT NULL DEFAULT false"
)
# What revisions after 0007 changed in these tables (0014: the customer's push token).
LATER_CHANGES = "ALTER TABLE customer_profiles ADD COLUMN push_token text"

# (column, type, nullable) in table order, as the application's statements expect them.
EXPECTED_COLUMNS = {
    "identity_credentials": [
        ("user_id", "uuid", False),
        ("tenant_id", "uuid", False),
        ("email", "text", False),
        ("password_hash", "text", False),
        ("active", "boolean", False),
        ("created_at", "timestamp with time zone", False),
    ],
    "customer_profiles": [
        ("tenant_id", "uuid", False),
        ("customer_id", "uuid", False),
        ("name", "text", False),
        ("phone_e164", "text", True),
        ("email", "text", True),
        ("metadata", "jsonb", False),
        ("created_at", "timestamp with time zone", False),
        ("push_token", "text", True),
    ],
    "idempotency_keys": [
        ("tenant_id", "uuid", False),
        ("key", "text", False),
        ("request_fingerprint", "text", False),
        ("state", "text", False),
        ("claim_id", "uuid", False),
        ("response_status", "smallint", True),
        ("response_headers", "jsonb", True),
        ("response_body", "bytea", True),
        ("created_at", "timestamp with time zone", False),
        ("locked_until", "timestamp with time zone", True),
        ("applied", "boolean", False),
    ],
    "device_credentials": [
        ("device_id", "uuid", False),
        ("tenant_id", "uuid", False),
        ("secret_hash", "text", False),
        ("active", "boolean", False),
        ("created_at", "timestamp with time zone", False),
    ],
}

TENANT = uuid.UUID("00000000-0000-4000-8000-00000000a007")


@pytest.fixture
def new_database(database_url: str) -> Iterator[Callable[[], str]]:
    """Makes empty databases on the session's server (returning their runtime URLs); drops them
    at the end of the test."""
    server = owner_url(database_url)
    names: list[str] = []

    def make() -> str:
        name = f"sq_write_side_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        names.append(name)
        return runtime_database(server, name)

    yield make
    with psycopg.connect(server, autocommit=True) as connection:
        for name in names:
            connection.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def alembic(url: str, action: str, target: str) -> None:
    """``alembic upgrade|downgrade target`` on the database of ``url`` (its owner's URL)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = sqlalchemy_engine(url, pool_size=1)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, action)(config, target)
    finally:
        engine.dispose()


def _head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


# Later revisions stack on 0007; a migrated database stands at the newest one.
HEAD = _head()


def version(url: str) -> str:
    with psycopg.connect(url) as connection:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    assert row is not None
    return str(row[0])


def catalogue(url: str) -> dict[str, Any]:
    """The write-side tables as the catalogue describes them: columns (type, nullability,
    default), constraints and indexes, by name."""
    with psycopg.connect(url) as connection:
        columns = connection.execute(
            "SELECT table_name, column_name, data_type, is_nullable = 'YES', column_default"
            " FROM information_schema.columns"
            " WHERE table_schema = 'public' AND table_name = ANY(%s)"
            " ORDER BY table_name, ordinal_position",
            (list(WRITE_SIDE_TABLES),),
        ).fetchall()
        constraints = connection.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
            " FROM pg_constraint WHERE conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
            (list(WRITE_SIDE_TABLES),),
        ).fetchall()
        indexes = connection.execute(
            "SELECT tablename, indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = 'public' AND tablename = ANY(%s) ORDER BY 1, 2",
            (list(WRITE_SIDE_TABLES),),
        ).fetchall()
    return {"columns": columns, "constraints": constraints, "indexes": indexes}


def columns_of(described: dict[str, Any]) -> dict[str, list[tuple[str, str, bool]]]:
    found: dict[str, list[tuple[str, str, bool]]] = {}
    for table, column, data_type, nullable, _default in described["columns"]:
        found.setdefault(table, []).append((column, data_type, nullable))
    return found


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {name for (name,) in rows}


def reference(new_database: Callable[[], str]) -> dict[str, Any]:
    """The catalogue of a database that only ran the old strings: what 0007 must reproduce
    (with the later revisions' changes)."""
    url = owner_url(new_database())
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(OLD_SCHEMA)
        connection.execute(OLD_APPLIED_COLUMN)
        connection.execute(LATER_CHANGES)
    return catalogue(url)


def test_a_fresh_database_gets_the_write_side_tables_from_alembic(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    url = new_database()
    migrate(settings_for(url, tmp_path))

    owner = owner_url(url)
    assert version(owner) == HEAD
    described = catalogue(owner)
    assert columns_of(described) == EXPECTED_COLUMNS
    assert described == reference(new_database)
    # Migrating again changes nothing.
    migrate(settings_for(url, tmp_path))
    assert version(owner) == HEAD
    assert catalogue(owner) == described


def insert_old_rows(url: str) -> None:
    with psycopg.connect(url) as connection:
        connection.execute(
            "INSERT INTO identity_credentials (user_id, tenant_id, email, password_hash)"
            " VALUES (%s, %s, 'Old@Example.com', 'hash')",
            (uuid.UUID(int=1), TENANT),
        )
        connection.execute(
            "INSERT INTO customer_profiles (tenant_id, customer_id, name, created_at)"
            " VALUES (%s, %s, 'Old customer', now())",
            (TENANT, uuid.UUID(int=2)),
        )
        connection.execute(
            "INSERT INTO idempotency_keys"
            " (tenant_id, key, request_fingerprint, state, claim_id, created_at)"
            " VALUES (%s, 'old-key', 'fingerprint', 'completed', %s, now())",
            (TENANT, uuid.UUID(int=3)),
        )
        connection.execute(
            "INSERT INTO device_credentials (device_id, tenant_id, secret_hash)"
            " VALUES (%s, %s, 'secret')",
            (uuid.UUID(int=4), TENANT),
        )


def rows_of(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as connection:
        set_tenant(connection, TENANT)
        return {
            "identity_credentials": connection.execute(
                "SELECT user_id, email, active FROM identity_credentials"
            ).fetchall(),
            "customer_profiles": connection.execute(
                "SELECT customer_id, name FROM customer_profiles"
            ).fetchall(),
            "idempotency_keys": connection.execute(
                "SELECT key, state, applied FROM idempotency_keys"
            ).fetchall(),
            "device_credentials": connection.execute(
                "SELECT device_id, active FROM device_credentials"
            ).fetchall(),
        }


@pytest.mark.parametrize("with_applied", [True, False], ids=["last-schema", "before-applied"])
def test_a_database_made_the_old_way_upgrades_with_its_rows(
    new_database: Callable[[], str], tmp_path: Path, with_applied: bool
) -> None:
    url = new_database()
    owner = owner_url(url)
    # As ``migrate`` left a database before 0007: the strings, then Alembic at 0006.
    with psycopg.connect(owner, autocommit=True) as connection:
        connection.execute("CREATE TABLE identity_tokens (token text PRIMARY KEY)")
        connection.execute(OLD_SCHEMA)
        if with_applied:
            connection.execute(OLD_APPLIED_COLUMN)
    alembic(owner, "upgrade", "0006")
    insert_old_rows(owner)

    migrate(settings_for(url, tmp_path))

    assert version(owner) == HEAD
    assert rows_of(owner) == {
        "identity_credentials": [(uuid.UUID(int=1), "Old@Example.com", True)],
        "customer_profiles": [(uuid.UUID(int=2), "Old customer")],
        "idempotency_keys": [("old-key", "completed", False)],
        "device_credentials": [(uuid.UUID(int=4), True)],
    }
    assert "identity_tokens" not in tables(owner)
    assert catalogue(owner) == reference(new_database)
    # The roles set up after the migrations still reach the old rows: sign-in finds the old
    # credential through the runtime's definer function.
    with psycopg.connect(url) as connection:
        found = connection.execute(
            "SELECT user_id FROM smartqueue_credential_by_email('old@example.com')"
        ).fetchall()
    assert found == [(uuid.UUID(int=1),)]


def test_downgrade_to_0006_then_upgrade_head(
    new_database: Callable[[], str], tmp_path: Path
) -> None:
    url = new_database()
    owner = owner_url(url)
    migrate(settings_for(url, tmp_path))
    described = catalogue(owner)

    alembic(owner, "downgrade", "0006")
    assert version(owner) == "0006"
    left = tables(owner)
    assert left.isdisjoint(WRITE_SIDE_TABLES)
    assert {"projection_dead_letters", "audit_log"} <= left

    alembic(owner, "upgrade", "head")
    assert version(owner) == HEAD
    assert catalogue(owner) == described

    # ``migrate`` grants the runtime its rights on the tables again: it writes and reads them
    # for its tenant.
    migrate(settings_for(url, tmp_path))
    with psycopg.connect(url) as connection:
        set_tenant(connection, TENANT)
        connection.execute(
            "INSERT INTO device_credentials (device_id, tenant_id, secret_hash)"
            " VALUES (%s, %s, 'secret')",
            (uuid.UUID(int=5), TENANT),
        )
        assert connection.execute("SELECT device_id FROM device_credentials").fetchall() == [
            (uuid.UUID(int=5),)
        ]
