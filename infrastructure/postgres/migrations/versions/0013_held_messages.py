"""Messages held in quiet hours, and called tickets found by the auto no-show sweep.

Revision ID: 0013

The ledger gains the states ``held`` (planned in the customer's quiet hours, waiting for
``not_before``) and ``skipped`` (held, and no longer news when its time came), and the column
``not_before``. The tickets read model gains a partial index of the called tickets by call
time, which the worker's auto no-show sweep reads across tenants; at any moment few tickets
are called, so it stays small. Its name is PostgreSQL's own pattern, which a rebuild's swap
restores (``infrastructure.following.rebuild``).
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

STATES = "'queued', 'sent', 'delivered', 'failed', 'dead'"


def _status_check(states: str) -> None:
    op.execute(
        "ALTER TABLE notification_ledger DROP CONSTRAINT IF EXISTS notification_ledger_status_check"
    )
    op.execute(
        "ALTER TABLE notification_ledger ADD CONSTRAINT notification_ledger_status_check"
        f" CHECK (status IN ({states}))"
    )


def upgrade() -> None:
    """Add the held and skipped states, ``not_before``, and the called tickets' index."""
    op.execute("ALTER TABLE notification_ledger ADD COLUMN IF NOT EXISTS not_before timestamptz")
    _status_check(f"{STATES}, 'held', 'skipped'")
    op.execute(
        "CREATE INDEX IF NOT EXISTS tickets_called_at_idx ON tickets (called_at)"
        " WHERE status = 'called'"
    )


def downgrade() -> None:
    """Held messages go back to queued (they are then sent at once, quiet hours or not) and
    skipped ones to dead; the column and the index go."""
    op.execute("UPDATE notification_ledger SET status = 'queued' WHERE status = 'held'")
    op.execute("UPDATE notification_ledger SET status = 'dead' WHERE status = 'skipped'")
    _status_check(STATES)
    op.execute("ALTER TABLE notification_ledger DROP COLUMN IF EXISTS not_before")
    op.execute("DROP INDEX IF EXISTS tickets_called_at_idx")
