"""How far behind the sink is: computed each few seconds, logged, and written beside the DuckDB
file (``<file>.status.json``) for ``smartqueue analytics-sink status``. DuckDB lets no other
process open a file a writer holds, so the status cannot be read from the database itself."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec


class PartitionStatus(msgspec.Struct, frozen=True):
    """Where the sink stands on one partition it holds."""

    topic: str
    partition: int
    stored: int | None
    """The next offset to read, as stored in DuckDB (None: nothing read yet)."""
    end: int
    """The offset the partition's next record will get."""

    @property
    def behind(self) -> int:
        return max(self.end - (self.stored or 0), 0)


class SinkStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One look at the sink's progress."""

    at: datetime
    group: str
    events: int
    """Rows in the ``events`` table."""
    rejected: int
    written: int
    """Rows this process stored (since it started)."""
    duplicates: int
    """Copies of stored events this process read and left out."""
    newest_event_at: datetime | None
    partitions: list[PartitionStatus]

    @property
    def behind(self) -> int:
        """Records on the sink's partitions not stored yet."""
        return sum(partition.behind for partition in self.partitions)

    @property
    def seconds_behind(self) -> float | None:
        """How long ago the newest stored event happened, while records wait (0 when none)."""
        if self.behind == 0:
            return 0.0
        if self.newest_event_at is None:
            return None
        return (self.at - self.newest_event_at).total_seconds()

    def describe(self, now: datetime | None = None) -> str:
        """Lines for an operator: the summary, then one per partition."""
        age = ((now or datetime.now(UTC)) - self.at).total_seconds()
        behind = self.seconds_behind
        lines = [
            f"analytics_sink\tgroup {self.group}\tas of {self.at.isoformat()} ({age:.0f} s ago)"
            f"\tevents {self.events} ({self.written} by this process)\trejected {self.rejected}"
            f"\tbehind {self.behind} records" + ("" if behind is None else f" ({behind:.0f} s)")
        ]
        for partition in self.partitions:
            stored = "-" if partition.stored is None else partition.stored
            lines.append(
                f"{partition.topic}[{partition.partition}]\tstored {stored}\tend {partition.end}"
                f"\tbehind {partition.behind}"
            )
        return "\n".join(lines)


def status_path(database: Path) -> Path:
    """Where the sink of ``database`` writes its status."""
    return database.with_name(database.name + ".status.json")


def write_status(database: Path, status: SinkStatus) -> None:
    """Replace the status file in one step (a reader never sees half of it)."""
    path = status_path(database)
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_bytes(msgspec.json.encode(status))
    os.replace(scratch, path)


def read_status(database: Path) -> SinkStatus | None:
    """The last status the sink of ``database`` wrote, if any."""
    path = status_path(database)
    if not path.exists():
        return None
    return msgspec.json.decode(path.read_bytes(), type=SinkStatus)


@dataclass(frozen=True)
class Verdict:
    """What a probe makes of a status."""

    problem: str | None


def judge(status: SinkStatus | None, silent_seconds: float, max_behind: int | None) -> Verdict:
    """A problem when the sink wrote nothing recently, holds no partition (it reads nothing,
    so "0 behind" would say nothing), or is more than ``max_behind`` records behind."""
    if status is None:
        return Verdict("no status yet: is the sink running?")
    age = (datetime.now(UTC) - status.at).total_seconds()
    if age > silent_seconds:
        return Verdict(f"silent for {age:.0f} s")
    if not status.partitions:
        return Verdict("holds no partition: it reads nothing")
    if max_behind is not None and status.behind > max_behind:
        return Verdict(f"{status.behind} records behind (limit {max_behind})")
    return Verdict(None)
