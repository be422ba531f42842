"""Placement of moved servers on the members of their classes (`dpmsmt.optimize.placement`): the least largest
load, proved by a lower bound or found by local search and Z3, checked against brute force."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from dpmsmt.optimize.placement import improve, largest_first, least_peak

SERVERS = ["A", "B", "C", "D", "E"]


@st.composite
def placements(draw, max_items: int = 5):
    """Choices, each with candidates that add load to a target and maybe its protector."""
    loads = {d: draw(st.integers(0, 12)) for d in SERVERS}
    items = []
    for i in range(draw(st.integers(1, max_items))):
        targets = draw(st.lists(st.sampled_from(SERVERS), min_size=1, max_size=3, unique=True))
        k = draw(st.integers(1, 6))
        candidates = []
        for t in sorted(targets):
            held = {t: k}
            protector = draw(st.sampled_from([None, *SERVERS]))
            if protector is not None and protector != t:
                held[protector] = draw(st.integers(0, k))
            candidates.append((t, held))
        items.append(((1, f"s{i}", i, f"s{i}"), candidates))
    return items, loads


def peak_of(items, loads, placed) -> int:
    out = dict(loads)
    for key, candidates in items:
        for d, k in dict(candidates)[placed[key]].items():
            out[d] = out.get(d, 0) + k
    return max(out.values())


def least(items, loads) -> int:
    return min(
        peak_of(items, loads, {key: t for (key, _), t in zip(items, choice, strict=True)})
        for choice in itertools.product(*[[t for t, _ in c] for _, c in items])
    )


@settings(max_examples=60)
@given(placements())
def test_least_peak_is_the_least_largest_load_on_small_cases(case):
    items, loads = case
    peak, placed = least_peak(items, loads)
    assert peak == peak_of(items, loads, placed)
    assert peak == least(items, loads)


@settings(max_examples=60)
@given(placements(max_items=8))
def test_local_search_never_raises_the_peak(case):
    items, loads = case
    start, placed = largest_first(items, loads)
    assert start == peak_of(items, loads, placed)
    peak, improved = improve(items, loads, placed)
    assert peak == peak_of(items, loads, improved) <= start


def test_local_search_moves_a_choice_off_the_peak():
    # largest first puts both on A (the first by name at each step); B can take one of them
    items = [
        ((1, "x", 0, "x"), [("A", {"A": 3}), ("B", {"B": 3})]),
        ((1, "y", 1, "y"), [("A", {"A": 3})]),
    ]
    loads = {"A": 0, "B": 2}
    placed = {items[0][0]: "A", items[1][0]: "A"}
    assert peak_of(items, loads, placed) == 6
    peak, improved = improve(items, loads, placed)
    assert (peak, improved[items[0][0]]) == (5, "B")
