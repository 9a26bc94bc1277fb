"""Analytics: KPIs over any range of site-local days, grouped as asked, as JSON pages or a
streamed CSV or Parquet file (the ``kpis`` read model), and the visit facts of the ``tickets``
read model as streamed CSV or Parquet (read models trail commands by the projection's lag
unless ``min_position`` asks to read one's writes)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated
from uuid import UUID

from litestar import Controller, Request, get
from litestar.di import NamedDependency, Provide
from litestar.exceptions import ValidationException
from litestar.params import QueryParameter
from litestar.response import Stream

from application.analytics import (
    Analytics,
    KpiRange,
    KpiReport,
    kpi_range,
    visit_range,
)
from application.analytics_exports import PARQUET_MEDIA_TYPE
from application.consistency import Consistency
from application.identity import Principal
from domain.errors import InvalidInput
from interfaces.http.consistency import MinPosition, await_read_models
from interfaces.http.controllers.common import TENANT_PATH, TENANT_SCOPED, UseCase, problems
from interfaces.http.pagination import Cursor, Limit, page_request
from interfaces.http.security import scoped

DAY = r"^\d{4}-\d{2}-\d{2}$"


def _day(name: str, description: str) -> object:
    return QueryParameter(name=name, pattern=DAY, format="date", description=description)


# ``from`` and ``to`` are needed, yet declared optional, as availability's: a caller without the
# scope is answered 403 before the parameters are read; left out, they are a 400 from here.
From = Annotated[str | None, _day("from", "First site-local day of the range, included (needed)")]
To = Annotated[
    str | None,
    _day("to", "Last site-local day of the range, included (needed; at most 400 days in all)"),
]
CompareFrom = Annotated[str | None, _day("compare_from", "First day of the period to compare")]
CompareTo = Annotated[str | None, _day("compare_to", "Last day (inclusive) of that period")]
GroupBy = Annotated[
    str | None,
    QueryParameter(
        name="group_by",
        description="Comma-separated, any of site, service, queue, agent, day, week, month,"
        " weekday, hour (weekday,hour: the heat map); none: one row for the whole range",
        max_length=200,
    ),
]
SiteId = Annotated[
    UUID | None,
    QueryParameter(
        name="site_id",
        description="Only this site's figures (a user bound to a site always gets their own)",
    ),
]
ERRORS = problems(400, 401, 403, 422, 503)
READ_MODELS = ("kpis",)


@dataclass(frozen=True)
class KpiQuery:
    """A KPI request's range, groups and other period, and the site it is narrowed to."""

    range: KpiRange
    site_id: UUID | None


def provide_kpi_query(
    member: NamedDependency[Principal],
    first: From = None,
    last: To = None,
    group_by: GroupBy = None,
    compare_first: CompareFrom = None,
    compare_last: CompareTo = None,
    site_id: SiteId = None,
) -> KpiQuery:
    """The query parameters every KPI operation takes, checked (a bad range or group is the
    request's shape: 400)."""
    try:
        query = kpi_range(first, last, group_by, compare_first, compare_last)
    except InvalidInput as error:
        raise ValidationException(detail=str(error)) from None
    return KpiQuery(query, member.site_id or site_id)


class AnalyticsController(Controller):
    """KPIs of the tenant's sites, services, queues and agents (managers and admins)."""

    path = f"{TENANT_PATH}/analytics/kpis"
    tags = ["analytics"]
    dependencies = {
        **TENANT_SCOPED,
        "kpi_query": Provide(provide_kpi_query, sync_to_thread=False),
    }

    @get(
        "/",
        operation_id="getKpis",
        sync_to_thread=True,
        responses=ERRORS,
        **scoped("stats:read"),
    )
    def get_kpis(
        self,
        consistency: UseCase[Consistency],
        analytics: UseCase[Analytics],
        request: Request,
        member: NamedDependency[Principal],
        kpi_query: NamedDependency[KpiQuery],
        cursor: Cursor = None,
        limit: Limit = 50,
        min_position: MinPosition = None,
    ) -> KpiReport:
        """KPI rows of a range of site-local days (both ends inclusive), grouped by
        ``group_by``; with ``compare_from``/``compare_to``, the other period's rows beside."""
        await_read_models(consistency, READ_MODELS, min_position)
        return analytics.get_kpis(
            member.tenant_id, kpi_query.range, page_request(cursor, limit), kpi_query.site_id
        )

    @get(
        "/export.csv",
        operation_id="exportKpisCsv",
        sync_to_thread=True,
        responses=ERRORS,
        media_type="text/csv",
        **scoped("stats:read"),
    )
    def export_kpis_csv(
        self,
        consistency: UseCase[Consistency],
        analytics: UseCase[Analytics],
        request: Request,
        member: NamedDependency[Principal],
        kpi_query: NamedDependency[KpiQuery],
        min_position: MinPosition = None,
    ) -> Stream:
        """The same rows as CSV, streamed, one line per KPI row (both periods, by ``period``)."""
        query = kpi_query.range
        await_read_models(consistency, READ_MODELS, min_position)
        rows = analytics.export_csv(member.tenant_id, query, kpi_query.site_id)
        header = next(rows)  # reads the range now, so errors answer before the stream starts
        name = f"kpis-{query.first}-{query.last}.csv"

        def lines() -> Iterator[bytes]:
            yield header.encode()
            for line in rows:
                yield line.encode()

        return Stream(
            lines(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    @get(
        "/export.parquet",
        operation_id="exportKpisParquet",
        sync_to_thread=True,
        responses=ERRORS,
        media_type=PARQUET_MEDIA_TYPE,
        **scoped("stats:read"),
    )
    def export_kpis_parquet(
        self,
        consistency: UseCase[Consistency],
        analytics: UseCase[Analytics],
        request: Request,
        member: NamedDependency[Principal],
        kpi_query: NamedDependency[KpiQuery],
        min_position: MinPosition = None,
    ) -> Stream:
        """The rows of the CSV export as one Parquet file (typed columns, see
        docs/analytics.md), streamed row group by row group."""
        query = kpi_query.range
        await_read_models(consistency, READ_MODELS, min_position)
        chunks = analytics.export_kpis_parquet(member.tenant_id, query, kpi_query.site_id)
        name = f"kpis-{query.first}-{query.last}.parquet"
        return _download(chunks, PARQUET_MEDIA_TYPE, name)


def _started(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks`` with its first one produced now, in the handler's thread: the range is read
    (and a failure answered as an error) before the response starts."""
    first = next(chunks, b"")

    def rest() -> Iterator[bytes]:
        yield first
        yield from chunks

    return rest()


def _download(chunks: Iterator[bytes], media_type: str, name: str) -> Stream:
    return Stream(
        _started(chunks),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# A visit's site-local day is its queue's time zone's, which the agent board's read model holds.
VISIT_READ_MODELS = ("tickets", "agent_board")


@dataclass(frozen=True)
class VisitQuery:
    """A visit export's site-local days and the site it is narrowed to."""

    first: date
    last: date
    site_id: UUID | None

    def name(self, extension: str) -> str:
        return f"tickets-{self.first}-{self.last}.{extension}"


def provide_visit_query(
    member: NamedDependency[Principal],
    first: From = None,
    last: To = None,
    site_id: SiteId = None,
) -> VisitQuery:
    """The query parameters of a visit export, checked (a bad range is the request's shape:
    400)."""
    try:
        start, end = visit_range(first, last)
    except InvalidInput as error:
        raise ValidationException(detail=str(error)) from None
    return VisitQuery(start, end, member.site_id or site_id)


class VisitExportController(Controller):
    """Visit facts (one row per ticket, no personal data) for a range of site-local days, as
    CSV or Parquet, streamed from the tickets read model in chunks."""

    path = f"{TENANT_PATH}/analytics/tickets"
    tags = ["analytics"]
    dependencies = {
        **TENANT_SCOPED,
        "visit_query": Provide(provide_visit_query, sync_to_thread=False),
    }

    @get(
        "/export.csv",
        operation_id="exportVisitsCsv",
        sync_to_thread=True,
        responses=ERRORS,
        media_type="text/csv",
        **scoped("stats:read"),
    )
    def export_visits_csv(
        self,
        consistency: UseCase[Consistency],
        analytics: UseCase[Analytics],
        request: Request,
        member: NamedDependency[Principal],
        visit_query: NamedDependency[VisitQuery],
        min_position: MinPosition = None,
    ) -> Stream:
        """Every ticket issued on the days ``from`` to ``to`` (site-local, both included), one
        CSV line each (UTF-8, CRLF, times in UTC ISO 8601), streamed."""
        query = visit_query
        await_read_models(consistency, VISIT_READ_MODELS, min_position)
        chunks = analytics.export_visits_csv(
            member.tenant_id, query.first, query.last, query.site_id
        )
        return _download(chunks, "text/csv; charset=utf-8", query.name("csv"))

    @get(
        "/export.parquet",
        operation_id="exportVisitsParquet",
        sync_to_thread=True,
        responses=ERRORS,
        media_type=PARQUET_MEDIA_TYPE,
        **scoped("stats:read"),
    )
    def export_visits_parquet(
        self,
        consistency: UseCase[Consistency],
        analytics: UseCase[Analytics],
        request: Request,
        member: NamedDependency[Principal],
        visit_query: NamedDependency[VisitQuery],
        min_position: MinPosition = None,
    ) -> Stream:
        """The same visit facts as one Parquet file (explicit schema, UTC timestamps), a row
        group per chunk read, streamed as it is written."""
        query = visit_query
        await_read_models(consistency, VISIT_READ_MODELS, min_position)
        chunks = analytics.export_visits_parquet(
            member.tenant_id, query.first, query.last, query.site_id
        )
        return _download(chunks, PARQUET_MEDIA_TYPE, query.name("parquet"))
