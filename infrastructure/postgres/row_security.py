"""The row-level security that isolates the tenants of the read models
(:mod:`infrastructure.postgres.tables`): the reader's and the projector's roles, the
transaction's tenant setting, and the statements that put a table under forced RLS.
"""

from __future__ import annotations

READER_ROLE = "smartqueue_reader"
# Writes every tenant's read-model rows; see infrastructure/postgres/roles.py.
PROJECTOR_ROLE = "smartqueue_projector"
TENANT_SETTING = "app.tenant_id"

# Every table holding tenant rows; each gets RLS by ``secure_statements``.
TENANT_TABLES = (
    "audit_log",
    "agent_board",
    "agent_board_tickets",
    "queue_eta",
    "queue_stats",
    "tickets",
    "waiting_line",
    "ticket_queues",
    "directory_queues",
    "directory_agents",
    "availability",
    "feedback",
    "appointments",
    "kpis",
    "kpi_agent_duty",
)


def secure_statements(table: str, policy_table: str | None = None) -> list[str]:
    """SQL that turns on forced RLS for the read model ``table``, adds the tenant policy and
    the projector's, and grants the reader and the projector. ``policy_table`` names the
    policies (a rebuilt table keeps its final name's policies).

    ``FORCE`` makes the tenant policy apply to the owner too; nobody bypasses it by owning the
    table. The projector writes every tenant's rows through its own policy, and only roles that
    switch to it (``SET LOCAL ROLE``, in projection batches) get that policy.
    """
    name = policy_table or table
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY",
        # missing_ok=true: without a tenant set, the setting is '' and nullif makes it match
        # nothing, instead of failing with a cast error.
        f"CREATE POLICY {name}_tenant_isolation ON {table} "
        f"USING (tenant_id = nullif(current_setting('{TENANT_SETTING}', true), '')::uuid)",
        f"CREATE POLICY {name}_projection_writer ON {table} TO {PROJECTOR_ROLE} "
        "USING (true) WITH CHECK (true)",
        f"GRANT SELECT ON {table} TO {READER_ROLE}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {PROJECTOR_ROLE}",
    ]
