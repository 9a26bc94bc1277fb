"""Alembic revisions, applied in order by ``infrastructure.migration.migrate``."""
