"""The stored sketch: ``ddsketch``'s logarithmic mapping, pinned, and our encoding of its bins.
Fails when the library changes the mapping the stored rows were made with."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from application.analytics import DurationSketch
from projections.kpis_sketch import MAPPING, RELATIVE_ACCURACY, Sketch


def test_the_mapping_is_the_papers_logarithmic_one_at_one_percent():
    gamma = (1 + RELATIVE_ACCURACY) / (1 - RELATIVE_ACCURACY)
    for seconds in (0.5, 1.0, 59.0, 60.0, 61.0, 3600.0, 36_000.0):
        assert MAPPING.key(seconds) == math.ceil(math.log(seconds) / math.log(gamma))
        assert MAPPING.relative_accuracy == RELATIVE_ACCURACY


def test_every_key_maps_back_to_itself_through_its_representative_value():
    assert all(MAPPING.key(MAPPING.value(key)) == key for key in range(-2000, 2000))


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), min_size=1))
def test_the_encoding_round_trips_and_reads_back_the_same_quantiles(values):
    sketch = Sketch()
    for value in values:
        sketch.add(value)
    stored = sketch.encode()
    assert Sketch.decode(stored) == sketch
    read = DurationSketch.decode(stored)
    assert read.zero + sum(read.bins.values()) == len(values)
    ordered = sorted(values)
    for q in (0.0, 0.5, 0.9, 0.95, 1.0):
        exact = ordered[math.floor(q * (len(ordered) - 1))]
        assert abs(read.quantile(q) - exact) <= RELATIVE_ACCURACY * exact + 1e-300


def test_removing_a_value_undoes_adding_it():
    sketch = Sketch()
    sketch.add(12.0)
    sketch.add(0.0)
    sketch.remove(12.0)
    sketch.remove(0.0)
    assert sketch == Sketch()
