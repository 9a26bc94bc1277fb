"""KPIs over any range of site-local days, grouped as asked, from the ``kpis`` read model.

The read model stores hourly buckets (see ``projections/kpis.py``); a query has the read model
merge the range's buckets per group (:meth:`KpiBuckets.grouped`, done by PostgreSQL): counts and
sums add up, maxima take the largest, and the DDSketch bins of waits and service times add up key
by key, so p50/p90/p95 of a group are read from one sketch of all its durations, within
:data:`RELATIVE_ACCURACY` of the exact value. :func:`merge_kpis` is the same merge in Python, of
buckets a fold holds (the tests compare the two).

Agents' time on duty comes as a second set of hourly rows (agent, site, hour). Merged into the
same groups when no group is a service or a queue (time on duty belongs to neither), it gives
utilisation (service time ÷ time on duty) and served per agent-hour.
"""

from __future__ import annotations

import csv
import io
import math
import typing
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from typing import Any, Protocol
from uuid import UUID

import msgspec
from ddsketch import DDSketch
from ddsketch.mapping import LogarithmicMapping

from application.analytics_exports import (
    PARQUET_ROW_GROUP,
    VISIT_COLUMNS,
    VISIT_FILE_COLUMNS,
    ColumnarFiles,
    VisitFacts,
    batches,
    csv_line,
    csv_values,
    kpi_columns,
    parquet_values,
)
from application.paging import Page, PageRequest, paginate
from domain.errors import InvalidInput

RELATIVE_ACCURACY = 0.01
"""The sketches' relative accuracy (the projection's ``projections.kpis_sketch``'s: a test
keeps them equal)."""
_MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)

GROUPS = ("site", "service", "queue", "agent", "day", "week", "month", "weekday", "hour")
"""What ``group_by`` may name, in the order rows are sorted and CSV columns come."""
MAX_RANGE_DAYS = 400
QUANTILES = (0.5, 0.9, 0.95)


class DurationSketch(msgspec.Struct):
    """A stored sketch: counts per DDSketch bin key, and of zero durations."""

    zero: int = 0
    bins: dict[int, int] = msgspec.field(default_factory=dict)

    @classmethod
    def decode(cls, stored: dict[str, Any]) -> DurationSketch:
        return cls(stored["zero"], dict(zip(stored["keys"], stored["counts"], strict=True)))

    def merge(self, other: DurationSketch) -> None:
        self.zero += other.zero
        for key, count in other.bins.items():
            self.bins[key] = self.bins.get(key, 0) + count

    def quantile(self, q: float) -> float | None:
        """The value at rank ``floor(q * (n - 1))``, within the relative accuracy."""
        if not self.zero and not self.bins:
            return None
        sketch = DDSketch(RELATIVE_ACCURACY)
        if self.zero:
            sketch.add(0.0, self.zero)
        for key, count in self.bins.items():
            sketch.add(_MAPPING.value(key), count)
        return sketch.get_quantile_value(q)


class KpiFigures(msgspec.Struct, kw_only=True):
    """The figures of some visits: one stored bucket's, or a group's summed by the database."""

    arrivals_by_channel: dict[str, int] = msgspec.field(default_factory=dict)
    served: int = 0
    no_shows: int = 0
    cancellations: int = 0
    abandonments: int = 0
    transferred_out: int = 0
    waits_counted: int = 0
    wait_total_seconds: float = 0.0
    wait_max_seconds: float | None = None
    wait_sketch: DurationSketch = msgspec.field(default_factory=DurationSketch)
    services_counted: int = 0
    service_total_seconds: float = 0.0
    service_max_seconds: float | None = None
    service_sketch: DurationSketch = msgspec.field(default_factory=DurationSketch)
    sla_met: int = 0
    sla_counted: int = 0
    handles_counted: int = 0
    handle_total_seconds: float = 0.0
    csat_responses: int = 0
    csat_total: int = 0
    csat_satisfied: int = 0
    nps_responses: int = 0
    nps_promoters: int = 0
    nps_detractors: int = 0


class KpiBucketFigures(KpiFigures, kw_only=True):
    """One stored hourly bucket (the read model's row)."""

    site_id: UUID
    service_id: UUID
    queue_id: UUID
    agent_id: UUID | None
    day: date
    hour: int


GroupKeys = dict[str, Any]
"""A group's keys, by :class:`KpiRow` field name (``site_id``, ..., ``week``, ``hour``), in
the order of :data:`GROUPS`."""


class GroupedKpis(msgspec.Struct):
    """A range's figures already summed per group by the read model: the visits' and, unless a
    group is a service or a queue, the agents' time on duty (on duty, paused)."""

    visits: list[tuple[GroupKeys, KpiFigures]]
    duty: list[tuple[GroupKeys, float, float]] | None = None


class DutyFigures(msgspec.Struct, kw_only=True):
    """One stored agent-hour on duty (the read model's ``kpi_agent_duty`` row)."""

    agent_id: UUID
    site_id: UUID | None
    day: date
    hour: int
    on_duty_seconds: float
    paused_seconds: float


class KpiBuckets(Protocol):
    """The KPI read model (PostgreSQL, under the tenant's row-level security)."""

    def grouped(
        self,
        tenant_id: UUID,
        first: date,
        last: date,
        groups: tuple[str, ...],
        site_id: UUID | None = None,
    ) -> GroupedKpis:
        """The tenant's buckets of the site-local days ``first`` to ``last`` (inclusive), of
        ``site_id`` only when given, summed per group of ``groups`` (names of :data:`GROUPS`,
        in its order): counts and sums added, maxima taken, sketch bins added key by key. The
        time on duty too, unless ``groups`` names a service or a queue."""


class KpiRange(msgspec.Struct, frozen=True):
    """A validated query: days ``first`` to ``last`` inclusive, the groups, the other period."""

    first: date
    last: date
    group_by: tuple[str, ...]
    compare_first: date | None = None
    compare_last: date | None = None


class KpiRow(msgspec.Struct, kw_only=True):
    """The KPIs of one group. A group key not asked for is ``null``; ``agent_id`` is ``null``
    too for visits nobody called. Durations in seconds; rates are shares of arrivals."""

    site_id: UUID | None = None
    service_id: UUID | None = None
    queue_id: UUID | None = None
    agent_id: UUID | None = None
    day: date | None = None
    week: date | None = None
    """The Monday the ISO week starts."""
    month: date | None = None
    """The first day of the month."""
    weekday: int | None = None
    """ISO day of the week of the site-local day: 1 is Monday, 7 Sunday."""
    hour: int | None = None
    """Site-local hour of the day, 0 to 23."""
    arrivals: int
    arrivals_by_channel: dict[str, int]
    served: int
    no_shows: int
    cancellations: int
    abandonments: int
    transferred_out: int
    served_rate: float | None
    no_show_rate: float | None
    cancellation_rate: float | None
    abandonment_rate: float | None
    waits_counted: int
    wait_mean_seconds: float | None
    wait_p50_seconds: float | None
    wait_p90_seconds: float | None
    wait_p95_seconds: float | None
    wait_max_seconds: float | None
    services_counted: int
    service_mean_seconds: float | None
    service_p50_seconds: float | None
    service_p90_seconds: float | None
    service_p95_seconds: float | None
    service_max_seconds: float | None
    sla_met: int
    sla_counted: int
    sla_compliance: float | None
    handles_counted: int
    """Visits an agent called that ended (completed, no-show, transferred on, cancelled)."""
    handle_mean_seconds: float | None
    """Mean of their first call to their end."""
    on_duty_seconds: float | None
    """Agents' time on duty (any status but offline); ``null`` when grouped by service or queue."""
    paused_seconds: float | None
    """The paused part of it."""
    utilisation: float | None
    """Service time ÷ time on duty."""
    served_per_agent_hour: float | None
    csat_responses: int
    csat_mean: float | None
    """Mean CSAT answer, 1 to 5 (feedback counts in the hour it was given)."""
    csat_satisfied: int
    """CSAT answers of 4 or 5."""
    csat_satisfied_rate: float | None
    nps_responses: int
    nps_promoters: int
    nps_detractors: int
    nps: float | None
    """% promoters (9-10) - % detractors (0-6), from -100 to 100."""


class KpiReport(msgspec.Struct, kw_only=True):
    """A page of KPI rows of ``from``-``to``; with a comparison, the other period's rows at the
    same place in its own order (``compare_items``). ``next_cursor`` is ``null`` on the last page
    of both."""

    from_: date = msgspec.field(name="from")
    to: date
    group_by: list[str]
    relative_accuracy: float
    items: list[KpiRow]
    next_cursor: str | None
    compare_from: date | None = None
    compare_to: date | None = None
    compare_items: list[KpiRow] | None = None


def kpi_range(
    first: str | None,
    last: str | None,
    group_by: str | None,
    compare_first: str | None = None,
    compare_last: str | None = None,
) -> KpiRange:
    """The query from its text parameters, or :class:`InvalidInput` saying what is wrong."""
    start, end = _period("from", first, "to", last)
    groups = tuple(part.strip() for part in (group_by or "").split(",") if part.strip())
    unknown = [group for group in groups if group not in GROUPS]
    if unknown:
        raise InvalidInput(f"group_by: unknown {unknown}; expected any of {list(GROUPS)}")
    if len(set(groups)) != len(groups):
        raise InvalidInput("group_by names a group twice")
    ordered = tuple(group for group in GROUPS if group in groups)
    if (compare_first is None) != (compare_last is None):
        raise InvalidInput("compare_from and compare_to go together")
    if compare_first is None:
        return KpiRange(start, end, ordered)
    other_start, other_end = _period("compare_from", compare_first, "compare_to", compare_last)
    return KpiRange(start, end, ordered, other_start, other_end)


def _period(
    first_name: str, first: str | None, last_name: str, last: str | None
) -> tuple[date, date]:
    start, end = _date(first_name, first), _date(last_name, last)
    if end < start:
        raise InvalidInput(f"{last_name} ({end}) is before {first_name} ({start})")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidInput(f"{first_name} to {last_name} spans more than {MAX_RANGE_DAYS} days")
    return start, end


def _date(name: str, text: str | None) -> date:
    if text is None:
        raise InvalidInput(f"{name} is required (an ISO 8601 date, like 2026-11-27)")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an ISO 8601 date, like 2026-11-27; got {text!r}"
        ) from None


class _Totals:
    """The merge of some buckets."""

    def __init__(self, with_duty: bool) -> None:
        self.with_duty = with_duty
        self.on_duty: list[float] = []
        self.paused: list[float] = []
        self.handle_totals: list[float] = []
        self.csat_total = 0
        self.arrivals: dict[str, int] = {}
        self.counts = dict.fromkeys(_COUNTS, 0)
        # Summed with fsum at the end: exactly rounded, so the order buckets come in (the
        # database's) never changes a mean.
        self.wait_totals: list[float] = []
        self.service_totals: list[float] = []
        self.wait_max: float | None = None
        self.service_max: float | None = None
        self.waits = DurationSketch()
        self.services = DurationSketch()

    def add(self, bucket: KpiFigures) -> None:
        for channel, count in bucket.arrivals_by_channel.items():
            self.arrivals[channel] = self.arrivals.get(channel, 0) + count
        for name in _COUNTS:
            self.counts[name] += getattr(bucket, name)
        self.wait_totals.append(bucket.wait_total_seconds)
        self.service_totals.append(bucket.service_total_seconds)
        self.wait_max = _max(self.wait_max, bucket.wait_max_seconds)
        self.service_max = _max(self.service_max, bucket.service_max_seconds)
        self.waits.merge(bucket.wait_sketch)
        self.services.merge(bucket.service_sketch)
        self.handle_totals.append(bucket.handle_total_seconds)
        self.csat_total += bucket.csat_total

    def add_duty(self, on_duty_seconds: float, paused_seconds: float) -> None:
        self.on_duty.append(on_duty_seconds)
        self.paused.append(paused_seconds)

    def row(self, keys: dict[str, Any]) -> KpiRow:
        counts = self.counts
        arrivals = sum(self.arrivals.values())
        waits, services = counts["waits_counted"], counts["services_counted"]
        wait_q = [self.waits.quantile(q) for q in QUANTILES]
        service_q = [self.services.quantile(q) for q in QUANTILES]
        on_duty = math.fsum(self.on_duty) if self.with_duty else None
        service_total = math.fsum(self.service_totals)
        promoters, detractors = counts["nps_promoters"], counts["nps_detractors"]
        nps_answers = counts["nps_responses"]
        return KpiRow(
            **keys,
            arrivals=arrivals,
            arrivals_by_channel=dict(sorted(self.arrivals.items())),
            **counts,
            served_rate=_share(counts["served"], arrivals),
            no_show_rate=_share(counts["no_shows"], arrivals),
            cancellation_rate=_share(counts["cancellations"], arrivals),
            abandonment_rate=_share(counts["abandonments"], arrivals),
            wait_mean_seconds=math.fsum(self.wait_totals) / waits if waits else None,
            wait_p50_seconds=wait_q[0],
            wait_p90_seconds=wait_q[1],
            wait_p95_seconds=wait_q[2],
            wait_max_seconds=self.wait_max,
            service_mean_seconds=service_total / services if services else None,
            service_p50_seconds=service_q[0],
            service_p90_seconds=service_q[1],
            service_p95_seconds=service_q[2],
            service_max_seconds=self.service_max,
            sla_compliance=_share(counts["sla_met"], counts["sla_counted"]),
            handle_mean_seconds=_ratio(math.fsum(self.handle_totals), counts["handles_counted"]),
            on_duty_seconds=on_duty,
            paused_seconds=math.fsum(self.paused) if self.with_duty else None,
            utilisation=_ratio(service_total, on_duty),
            served_per_agent_hour=_ratio(counts["served"], on_duty and on_duty / 3600),
            csat_mean=_ratio(self.csat_total, counts["csat_responses"]),
            csat_satisfied_rate=_share(counts["csat_satisfied"], counts["csat_responses"]),
            nps=(100 * (promoters - detractors) / nps_answers if nps_answers else None),
        )


_COUNTS = tuple(
    name
    for name, kind in typing.get_type_hints(KpiFigures).items()
    if kind is int and name != "csat_total"  # a total, not a count: the mean needs it
)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _ratio(part: float, whole: float | None) -> float | None:
    return part / whole if whole else None


def _group_keys(bucket: KpiBucketFigures | DutyFigures, groups: tuple[str, ...]) -> dict[str, Any]:
    keys: dict[str, Any] = {}
    for group in groups:
        if group in ("site", "service", "queue", "agent"):
            keys[f"{group}_id"] = getattr(bucket, f"{group}_id")
        elif group == "day":
            keys["day"] = bucket.day
        elif group == "week":
            keys["week"] = bucket.day - timedelta(days=bucket.day.weekday())
        elif group == "month":
            keys["month"] = bucket.day.replace(day=1)
        elif group == "weekday":
            keys["weekday"] = bucket.day.isoweekday()
        else:
            keys["hour"] = bucket.hour
    return keys


def merge_kpis(
    buckets: Iterable[KpiBucketFigures],
    groups: tuple[str, ...],
    duty: Iterable[DutyFigures] = (),
) -> list[KpiRow]:
    """The buckets merged per group (one row for all when ``groups`` is empty), in key order
    (hours as two digits, so they sort as numbers; no agent first). The agent-hours of ``duty``
    join the same groups unless one is a service or a queue; a group with time on duty and no
    visit (an agent who served nobody) is a row too."""
    with_duty = not {"service", "queue"} & set(groups)
    totals: dict[tuple[Any, ...], tuple[dict[str, Any], _Totals]] = {}

    def entry(bucket: KpiBucketFigures | DutyFigures) -> _Totals:
        keys = _group_keys(bucket, groups)
        found = totals.get(tuple(keys.values()))
        if found is None:
            found = totals[tuple(keys.values())] = (keys, _Totals(with_duty))
        return found[1]

    for bucket in buckets:
        entry(bucket).add(bucket)
    if with_duty:
        for hour in duty:
            entry(hour).add_duty(hour.on_duty_seconds, hour.paused_seconds)
    ordered = sorted(totals.values(), key=lambda entry: _row_sort_key(entry[0]))
    return [total.row(keys) for keys, total in ordered]


def merge_grouped(grouped: GroupedKpis, groups: tuple[str, ...]) -> list[KpiRow]:
    """The rows of figures the read model summed per group: what :func:`merge_kpis` makes of
    the same buckets (up to the order floating-point sums were added in)."""
    with_duty = grouped.duty is not None
    totals: dict[tuple[Any, ...], tuple[GroupKeys, _Totals]] = {}

    def entry(keys: GroupKeys) -> _Totals:
        found = totals.get(tuple(keys.values()))
        if found is None:
            found = totals[tuple(keys.values())] = (keys, _Totals(with_duty))
        return found[1]

    for keys, figures in grouped.visits:
        entry(keys).add(figures)
    for keys, on_duty, paused in grouped.duty or ():
        entry(keys).add_duty(on_duty, paused)
    ordered = sorted(totals.values(), key=lambda found: _row_sort_key(found[0]))
    return [total.row(keys) for keys, total in ordered]


def _row_sort_key(keys: dict[str, Any]) -> tuple[str, ...]:
    return tuple(
        "" if value is None else f"{value:02d}" if isinstance(value, int) else str(value)
        for value in keys.values()
    )


def _field(group: str) -> str:
    return f"{group}_id" if group in ("site", "service", "queue", "agent") else group


def _column_types() -> dict[str, type]:
    """Each KPI column's Python type, ``None`` aside (the Parquet export's schema)."""
    types = {}
    for name, hint in typing.get_type_hints(KpiRow).items():
        options = [kind for kind in typing.get_args(hint) if kind is not type(None)]
        types[name] = options[0] if options and typing.get_origin(hint) is not dict else hint
    return types


COLUMN_TYPES = _column_types()
METRIC_COLUMNS = tuple(
    name
    for name in KpiRow.__struct_fields__
    if name not in {_field(group) for group in GROUPS} and name != "arrivals_by_channel"
)


class Analytics:
    """The KPI queries of a tenant (managers and admins), and the exports of KPIs and of
    visit facts."""

    def __init__(
        self,
        read_model: KpiBuckets,
        visit_facts: VisitFacts | None = None,
        files: ColumnarFiles | None = None,
    ) -> None:
        self.read_model = read_model
        self.visit_facts = visit_facts
        self.files = files

    def rows(
        self,
        tenant_id: UUID,
        first: date,
        last: date,
        groups: tuple[str, ...],
        site_id: UUID | None,
    ) -> list[KpiRow]:
        """Every KPI row of the days ``first`` to ``last`` (inclusive): the read model sums
        the range per group, this merges the sketches and works out rates and percentiles."""
        grouped = self.read_model.grouped(tenant_id, first, last, groups, site_id)
        return merge_grouped(grouped, groups)

    def get_kpis(
        self,
        tenant_id: UUID,
        query: KpiRange,
        page: PageRequest | None = None,
        site_id: UUID | None = None,
    ) -> KpiReport:
        """A page of the KPI rows of ``query`` (and of its other period, if it names one)."""
        page = page or PageRequest()
        groups = query.group_by
        rows = self.rows(tenant_id, query.first, query.last, groups, site_id)
        compare: list[KpiRow] | None = None
        if query.compare_first is not None and query.compare_last is not None:
            compare = self.rows(tenant_id, query.compare_first, query.compare_last, groups, site_id)
        # One cursor for both lists: it names the index of the last row seen.
        longest = max(len(rows), len(compare or []))
        chunk: Page[str] = paginate([str(index) for index in range(longest)], str, page)
        start = int(chunk.items[0]) if chunk.items else 0
        end = start + len(chunk.items)
        return KpiReport(
            from_=query.first,
            to=query.last,
            group_by=list(groups),
            relative_accuracy=RELATIVE_ACCURACY,
            items=rows[start:end],
            next_cursor=chunk.next_cursor,
            compare_from=query.compare_first,
            compare_to=query.compare_last,
            compare_items=None if compare is None else compare[start:end],
        )

    def export_csv(
        self, tenant_id: UUID, query: KpiRange, site_id: UUID | None = None
    ) -> Iterator[str]:
        """The CSV text of every row, a header first, one chunk per row: ``period``
        (``current`` or ``compare``), the group columns asked for, every metric, then one
        ``arrivals_<channel>`` column per channel seen."""
        for values in self.kpi_export_rows(tenant_id, query, site_id):
            yield csv_line(values)

    def kpi_export_rows(
        self, tenant_id: UUID, query: KpiRange, site_id: UUID | None = None
    ) -> Iterator[list[Any]]:
        """What :meth:`export_csv` writes, as lists of values: the header first, then one list
        per KPI row (``None`` for a null). The Parquet export writes the same rows."""
        periods = [("current", query.first, query.last)]
        if query.compare_first is not None and query.compare_last is not None:
            periods.append(("compare", query.compare_first, query.compare_last))
        tables = [
            (name, self.rows(tenant_id, first, last, query.group_by, site_id))
            for name, first, last in periods
        ]
        channels = sorted(
            {c for _, rows in tables for row in rows for c in row.arrivals_by_channel}
        )
        keys = [_field(group) for group in query.group_by]
        yield ["period", *keys, *METRIC_COLUMNS, *(f"arrivals_{c}" for c in channels)]
        for name, rows in tables:
            for row in rows:
                values = [name, *(getattr(row, key) for key in keys)]
                values += [getattr(row, column) for column in METRIC_COLUMNS]
                values += [row.arrivals_by_channel.get(c, 0) for c in channels]
                yield values

    def export_kpis_parquet(
        self, tenant_id: UUID, query: KpiRange, site_id: UUID | None = None
    ) -> Iterator[bytes]:
        """The rows of :meth:`kpi_export_rows` as one Parquet file, in chunks of bytes. The
        rows are read (and merged) before the first chunk is produced."""
        rows = self.kpi_export_rows(tenant_id, query, site_id)
        header = next(rows)
        columns = kpi_columns(header, COLUMN_TYPES)
        return self._files().chunks(columns, batches(rows, PARQUET_ROW_GROUP))

    def export_visits_csv(
        self, tenant_id: UUID, first: date, last: date, site_id: UUID | None = None
    ) -> Iterator[bytes]:
        """The visit facts of the site-local days ``first`` to ``last`` as CSV (UTF-8, CRLF, a
        header first), one chunk of bytes per chunk of rows read: memory holds one chunk."""
        # The header goes out with the first chunk: the query has run once one is produced.
        header = csv_line(list(VISIT_COLUMNS))
        for chunk in self._visit_facts().facts(tenant_id, first, last, site_id):
            buffer = io.StringIO(header)
            buffer.seek(len(header))
            header = ""
            writer = csv.writer(buffer, lineterminator="\r\n")
            writer.writerows(csv_values(fact) for fact in chunk)
            yield buffer.getvalue().encode()
        if header:
            yield header.encode()

    def export_visits_parquet(
        self, tenant_id: UUID, first: date, last: date, site_id: UUID | None = None
    ) -> Iterator[bytes]:
        """The same visit facts as one Parquet file (:data:`VISIT_FILE_COLUMNS`), a row group per
        chunk of rows read, in chunks of bytes as they are written."""
        chunks = self._visit_facts().facts(tenant_id, first, last, site_id)
        return self._files().chunks(
            VISIT_FILE_COLUMNS, ([parquet_values(fact) for fact in chunk] for chunk in chunks)
        )

    def _files(self) -> ColumnarFiles:
        if self.files is None:
            raise RuntimeError("Analytics was built without a columnar file writer")
        return self.files

    def _visit_facts(self) -> VisitFacts:
        if self.visit_facts is None:
            raise RuntimeError("Analytics was built without the visit facts read model")
        return self.visit_facts


def visit_range(first: str | None, last: str | None) -> tuple[date, date]:
    """The days of a visit export from its text parameters (the KPI rules), or
    :class:`InvalidInput`."""
    return _period("from", first, "to", last)
