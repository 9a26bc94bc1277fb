"""A mergeable sketch of durations: DDSketch's logarithmic bins, kept as plain counts per key.

``ddsketch`` (PyPI) maps a positive value ``v`` to the integer key ``ceil(log_gamma(v))`` of a
bin whose every value is within :data:`RELATIVE_ACCURACY` of the bin's representative value
(``gamma = (1 + a) / (1 - a)``). Two sketches of the same accuracy merge by adding their counts
key by key, so a quantile read from merged buckets is as accurate as one read from a sketch of
every value: no averages of averages.

The stored form is ours, not the library's protobuf (which needs ``protobuf`` at run time and
encodes the library's store layout): ``{"zero": n, "keys": [...], "counts": [...]}``, keys
ascending. It only depends on the mapping's public ``key``/``value`` functions, whose definition
is the DDSketch paper's and is pinned by a unit test, and reads as JSON in PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import msgspec
from ddsketch.mapping import LogarithmicMapping

RELATIVE_ACCURACY = 0.01
"""Every quantile read from a sketch is within 1 % of the true value at that rank."""

MAPPING = LogarithmicMapping(RELATIVE_ACCURACY)


class Sketch(msgspec.Struct):
    """Counts of durations per DDSketch bin key; ``zero`` counts durations of zero."""

    zero: int = 0
    bins: dict[int, int] = msgspec.field(default_factory=dict)

    def add(self, seconds: float, count: int = 1) -> None:
        """Count ``count`` durations of ``seconds`` (never negative)."""
        if seconds > MAPPING.min_possible:
            key = MAPPING.key(seconds)
            self.bins[key] = self.bins.get(key, 0) + count
        else:
            self.zero += count

    def remove(self, seconds: float) -> None:
        """Withdraw one duration counted by :meth:`add`."""
        if seconds > MAPPING.min_possible:
            key = MAPPING.key(seconds)
            self.bins[key] -= 1
            if not self.bins[key]:
                del self.bins[key]
        else:
            self.zero -= 1

    def merge(self, other: Sketch) -> None:
        """Add every count of ``other`` to this sketch."""
        self.zero += other.zero
        for key, count in other.bins.items():
            self.bins[key] = self.bins.get(key, 0) + count

    @property
    def count(self) -> int:
        return self.zero + sum(self.bins.values())

    def encode(self) -> dict[str, Any]:
        """The stored form (see the module docstring)."""
        keys = sorted(self.bins)
        return {"zero": self.zero, "keys": keys, "counts": [self.bins[key] for key in keys]}

    @classmethod
    def decode(cls, stored: dict[str, Any]) -> Sketch:
        """The sketch :meth:`encode` stored."""
        return cls(stored["zero"], dict(zip(stored["keys"], stored["counts"], strict=True)))
