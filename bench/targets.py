"""Issue 16's targets, each printed beside the figure measured in this run, met or not."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """A budget (``at_most``) or a floor on one figure; ``figure`` None when not measured."""

    name: str
    figure: float | None
    limit: float
    unit: str
    at_most: bool

    @property
    def verdict(self) -> str:
        if self.figure is None or math.isnan(self.figure):
            return "not measured"
        met = self.figure <= self.limit if self.at_most else self.figure >= self.limit
        return "met" if met else "not met"

    def _value(self, value: float) -> str:
        if self.unit == "%":
            return f"{value:.0%}"
        if not self.unit:  # a count
            return f"{value:,.0f}"
        return f"{value:,.2f} {self.unit}"

    def line(self) -> str:
        figure = "-" if self.figure is None else self._value(self.figure)
        bound = f"{'<=' if self.at_most else '>='} {self._value(self.limit)}"
        return f"  {self.name:<58} {figure:>10}  target {bound:<10}  {self.verdict}"


def print_targets(targets: Sequence[Target], load: str) -> None:
    """The targets block, with the load average the figures were taken at."""
    print(f"\nIssue 16 targets (load average at the end of the run: {load}):")
    for target in targets:
        print(target.line())
