"""The event store's PostgreSQL factory: it connects with the whole ``DATABASE_URL``.

The ``eventsourcing`` 9.5 PostgreSQL factory reads only dbname, host, port, user and password
from its settings, so ``sslmode``, ``sslrootcert``, ``options``, ``application_name`` or
``target_session_attrs`` would be lost. It has no setting for the rest of a conninfo; its pool is
a ``psycopg_pool.ConnectionPool`` whose public ``conninfo`` and ``kwargs`` attributes say how new
connections are made. This factory hands the pool the whole conninfo and keeps only the keywords
the library adds beyond connecting (its row factory); ``tests/integration/
test_database_url_options.py`` fails if the library stops honouring it.

Its ``POSTGRES_PRE_PING`` check is replaced by
:class:`~infrastructure.postgres.pool_check.PurgingCheck`, through the pool's private ``_check``
(the pool has no public setter), set in :mod:`infrastructure.postgres.eventsourcing_internals`:
``tests/integration/test_pool_recovery.py`` fails if that stops working.
"""

from __future__ import annotations

from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment, EnvType

from infrastructure.postgres.event_metadata import StampingEventStoreFactory
from infrastructure.postgres.eventsourcing_internals import replace_pool_check
from infrastructure.postgres.pool_check import PurgingCheck

FACTORY_TOPIC = "infrastructure.postgres.event_store:ConninfoPostgresFactory"
CONNINFO = "POSTGRES_CONNINFO"
# The keywords that name where and as whom to connect: the conninfo says these itself.
_CONNECTION_KEYWORDS = frozenset({"dbname", "host", "port", "user", "password"})


class ConninfoPostgresFactory(StampingEventStoreFactory, PostgresFactory):
    """``PERSISTENCE_MODULE`` for the event store: the stock factory, connecting with the
    conninfo (URL or ``key=value``) in ``POSTGRES_CONNINFO`` when it is set, whose event store
    stamps each event with its command's metadata."""

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        conninfo = self.env.get(CONNINFO)
        if conninfo:
            pool = self.datastore.pool
            kept = pool.kwargs if isinstance(pool.kwargs, dict) else {}
            pool.conninfo = conninfo
            pool.kwargs = {
                name: value for name, value in kept.items() if name not in _CONNECTION_KEYWORDS
            }
        if self.datastore.pre_ping:
            check = PurgingCheck()
            check.pool = self.datastore.pool
            replace_pool_check(self.datastore.pool, check)
