"""Alembic revisions, applied in order by ``infrastructure.container.migrate``."""
