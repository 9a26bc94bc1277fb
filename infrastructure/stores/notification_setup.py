"""A tenant's templates and notification settings in PostgreSQL: the ``notification_templates``
and ``notification_settings`` tables (Alembic revision 0010), every statement scoped to one
tenant under forced row-level security."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from application.notification_templates import (
    DEFAULT_REMINDER_MINUTES,
    TenantNotificationSettings,
    TenantTemplate,
)
from infrastructure.postgres.tenancy import set_tenant

SELECT_TEMPLATES = (
    "SELECT template_id, kind, channel, language, subject, text, html, created_at, updated_at"
    " FROM notification_templates WHERE tenant_id = %s"
)
INSERT_TEMPLATE = (
    "INSERT INTO notification_templates (tenant_id, template_id, kind, channel, language,"
    " subject, text, html, created_at, updated_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING"
)


def _template(row: Sequence[Any]) -> TenantTemplate:
    template_id, kind, channel, language, subject, text, html, created_at, updated_at = row
    return TenantTemplate(
        id=template_id,
        kind=kind,
        channel=channel,
        language=language,
        subject=subject,
        text=text,
        html=html,
        created_at=created_at,
        updated_at=updated_at,
    )


class PostgresNotificationSetup:
    """The ``TemplateStore`` port on PostgreSQL."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def list_templates(self, tenant_id: UUID) -> list[TenantTemplate]:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            rows = connection.execute(
                SELECT_TEMPLATES + " ORDER BY kind, channel, language", (tenant_id,)
            ).fetchall()
        return [_template(row) for row in rows]

    def get_template(self, tenant_id: UUID, template_id: UUID) -> TenantTemplate | None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            row = connection.execute(
                SELECT_TEMPLATES + " AND template_id = %s", (tenant_id, template_id)
            ).fetchone()
        return _template(row) if row is not None else None

    def insert_template(self, tenant_id: UUID, template: TenantTemplate) -> bool:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            cursor = connection.execute(
                INSERT_TEMPLATE,
                (
                    tenant_id,
                    template.id,
                    template.kind,
                    template.channel,
                    template.language,
                    template.subject,
                    template.text,
                    template.html,
                    template.created_at,
                    template.updated_at,
                ),
            )
            return cursor.rowcount == 1

    def update_template(self, tenant_id: UUID, template: TenantTemplate) -> bool:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            cursor = connection.execute(
                "UPDATE notification_templates SET subject = %s, text = %s, html = %s,"
                " updated_at = %s WHERE tenant_id = %s AND template_id = %s",
                (
                    template.subject,
                    template.text,
                    template.html,
                    template.updated_at,
                    tenant_id,
                    template.id,
                ),
            )
            return cursor.rowcount == 1

    def delete_template(self, tenant_id: UUID, template_id: UUID) -> bool:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            cursor = connection.execute(
                "DELETE FROM notification_templates WHERE tenant_id = %s AND template_id = %s",
                (tenant_id, template_id),
            )
            return cursor.rowcount == 1

    def get_settings(self, tenant_id: UUID) -> TenantNotificationSettings | None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            row = connection.execute(
                "SELECT kinds, turn_near_position, turn_near_eta_minutes, updated_at,"
                " appointment_reminder_minutes FROM notification_settings WHERE tenant_id = %s",
                (tenant_id,),
            ).fetchone()
        if row is None:
            return None
        kinds, position, eta_minutes, updated_at, reminders = row
        return TenantNotificationSettings(
            kinds={str(name): bool(on) for name, on in kinds.items()},
            turn_near_position=position,
            turn_near_eta_minutes=eta_minutes,
            # Saved before reminders could be chosen: the default.
            appointment_reminder_minutes=list(
                DEFAULT_REMINDER_MINUTES if reminders is None else reminders
            ),
            updated_at=updated_at,
        )

    def put_settings(self, tenant_id: UUID, settings: TenantNotificationSettings) -> None:
        with self.pool.connection() as connection:
            set_tenant(connection, tenant_id)
            connection.execute(
                "INSERT INTO notification_settings (tenant_id, kinds, turn_near_position,"
                " turn_near_eta_minutes, updated_at, appointment_reminder_minutes)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (tenant_id) DO UPDATE SET kinds = excluded.kinds,"
                " turn_near_position = excluded.turn_near_position,"
                " turn_near_eta_minutes = excluded.turn_near_eta_minutes,"
                " updated_at = excluded.updated_at,"
                " appointment_reminder_minutes = excluded.appointment_reminder_minutes",
                (
                    tenant_id,
                    Jsonb(settings.kinds),
                    settings.turn_near_position,
                    settings.turn_near_eta_minutes,
                    settings.updated_at,
                    list(settings.appointment_reminder_minutes),
                ),
            )
