"""Appointment messages: the tenant's reminder offsets, and what a timed message is about.

Revision ID: 0018

``notification_settings`` gains ``appointment_reminder_minutes`` (the minutes before an
appointment's start when its reminders go; ``NULL``, for tenants that saved their settings
before, means the default of a day and an hour). The ledger gains ``appointment_id`` and
``appointment_start``: the appointment a message is about and the start it was planned for, so a
held reminder that comes due after the appointment moved, was cancelled or checked in is skipped
rather than sent. Plain DDL, as 0010 and 0013.
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add the reminder offsets and the ledger's appointment columns."""
    op.execute(
        "ALTER TABLE notification_settings"
        " ADD COLUMN IF NOT EXISTS appointment_reminder_minutes integer[]"
    )
    op.execute("ALTER TABLE notification_ledger ADD COLUMN IF NOT EXISTS appointment_id uuid")
    op.execute(
        "ALTER TABLE notification_ledger ADD COLUMN IF NOT EXISTS appointment_start timestamptz"
    )


def downgrade() -> None:
    """Drop them: held appointment messages are then released unchecked when due."""
    op.execute("ALTER TABLE notification_ledger DROP COLUMN IF EXISTS appointment_start")
    op.execute("ALTER TABLE notification_ledger DROP COLUMN IF EXISTS appointment_id")
    op.execute(
        "ALTER TABLE notification_settings DROP COLUMN IF EXISTS appointment_reminder_minutes"
    )
