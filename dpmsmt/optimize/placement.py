"""Least largest load: put each choice (a moved server, a new secondary) on one of its
candidates so that the largest load of a DPM server is least.

A choice is (key, [(target, held)]), where `held` maps each DPM server the target choice adds
load to (the target, its protector) to that load; `loads` are the loads before any choice.
Heuristics first (name-order greedy within a bound, largest first, local search), proved by a
lower bound where they reach it; else Z3 under a resource limit.
"""

from __future__ import annotations

import z3

from dpmsmt.encode import model_values
from dpmsmt.model import canon

__all__ = [
    "CANDIDATES",
    "PLACE_RLIMIT",
    "greedy",
    "improve",
    "largest_first",
    "least_peak",
    "least_peak_z3",
    "peak_with",
]

CANDIDATES = 16  # candidates kept per choice (the least loaded)
PLACE_RLIMIT = 500_000  # solver work for the least largest load of a placement


def peak_with(loads: dict[str, int], held) -> int:
    """The largest load among the DPM servers that `held` adds to."""
    return max((loads.get(d, 0) + k for d, k in held.items()), default=0)


def largest_first(items, loads) -> tuple[int, dict]:
    """Each choice, the largest first, on its candidate with the least peak (then by name):
    the classic heuristic for the least largest load."""
    loads = dict(loads)
    placed = {}

    def weight(item):
        return -max((sum(k for _, k in h.items()) for _, h in item[1]), default=0), item[0]

    for key, candidates in sorted(items, key=weight):
        target, held = min(candidates, key=lambda c: (peak_with(loads, c[1]), canon(c[0])))
        for d, k in held.items():
            loads[d] = loads.get(d, 0) + k
        placed[key] = target
    return max(loads.values(), default=0), placed


def improve(items, loads, placed: dict) -> tuple[int, dict]:
    """Local search on a placement: while some choice on a DPM server at the peak has another
    candidate that keeps every server it adds to below the peak, move it there (the first such
    choice by key, the first candidate by name). Each step lowers the peak or the number of
    servers at it. Returns the final peak and placement."""
    placed = dict(placed)
    by_key = {key: dict(candidates) for key, candidates in items}
    keys = sorted(by_key)
    names = {key: sorted(by_key[key], key=canon) for key in keys}
    current = dict(loads)
    for key in keys:
        for d, k in by_key[key][placed[key]].items():
            current[d] = current.get(d, 0) + k
    while True:
        peak = max(current.values(), default=0)
        step = None
        for key in keys:
            here = dict(by_key[key][placed[key]].items())
            if not any(k and current.get(d, 0) == peak for d, k in here.items()):
                continue
            for target in names[key]:
                if target != placed[key] and all(
                    current.get(d, 0) - here.get(d, 0) + k < peak
                    for d, k in by_key[key][target].items()
                    if k
                ):
                    step = (key, target)
                    break
            if step:
                break
        if step is None:
            return peak, placed
        key, target = step
        for d, k in by_key[key][placed[key]].items():
            current[d] -= k
        for d, k in by_key[key][target].items():
            current[d] = current.get(d, 0) + k
        placed[key] = target


def greedy(items, loads, bound) -> dict | None:
    """Each choice on its first candidate (by name) that keeps every load within `bound`;
    None where one does not fit."""
    loads = dict(loads)
    placed = {}
    for key, candidates in items:
        fits = (
            (t, h) for t, h in candidates if all(loads.get(d, 0) + k <= bound for d, k in h.items())
        )
        target, held = next(fits, (None, None))
        if held is None:
            return None
        for d, k in held.items():
            loads[d] = loads.get(d, 0) + k
        placed[key] = target
    return placed


def least_peak(items, loads) -> tuple[int, dict]:
    """The least largest load over the placements of the choices, and one such placement.

    A lower bound comes first: the loads once the choices with one candidate are placed,
    and for every other choice its least peak alone. The name-order greedy within that
    bound, then largest-first onto the least peak improved by local search, often reach it,
    which proves them optimal. Otherwise Z3 searches, and the better of its placement and the heuristic's is
    kept."""
    forced = dict(loads)
    for _, candidates in items:
        if len(candidates) == 1:
            for d, k in candidates[0][1].items():
                forced[d] = forced.get(d, 0) + k
    bound = max(forced.values(), default=0)
    for _, candidates in items:
        if len(candidates) > 1:
            bound = max(bound, min(peak_with(forced, h) for _, h in candidates))
    placed = greedy(items, loads, bound)
    if placed is not None:
        return bound, placed
    peak, placed = improve(items, loads, largest_first(items, loads)[1])
    if peak <= bound:
        return peak, placed
    z3_peak, z3_placed = least_peak_z3(items, loads)
    return (z3_peak, z3_placed) if z3_peak < peak else (peak, placed)


def least_peak_z3(items, loads) -> tuple[int, dict]:
    """The least largest load over the placements of the choices, and one such placement,
    by Z3. Choices with the same candidates (servers of one group moving to one class) are
    interchangeable: one Int per (such bunch, candidate) counts how many take it, among its
    CANDIDATES least loaded candidates (performance.md: a Boolean per server and
    candidate is a pigeonhole problem that the optimizer takes seconds over)."""
    bunches: dict[tuple, list] = {}
    for key, candidates in items:
        names = tuple(t for t, _ in candidates)
        bunch = (key[0], key[2], key[3] if key[0] == 0 else None, names)
        bunches.setdefault(bunch, []).append((key, candidates))
    solver = z3.Optimize()
    # the last criterion: the best placement found within a fixed amount of solver work
    # (a resource limit, not a time limit, so that the answer does not depend on the machine)
    solver.set("rlimit", PLACE_RLIMIT)
    peak = z3.Int("peak")
    terms: dict[str, list] = {}
    counts: list[tuple[list, list[tuple[str, z3.ArithRef]]]] = []
    for i, members in enumerate(bunches.values()):
        candidates = members[0][1]
        kept = sorted(candidates, key=lambda c: (loads.get(c[0], 0), canon(c[0])))
        row = []
        for j, (target, held) in enumerate(sorted(kept[:CANDIDATES], key=lambda c: canon(c[0]))):
            c = z3.Int(f"place!{i}!{j}")
            solver.add(c >= 0)
            row.append((target, c))
            for d, k in held.items():
                terms.setdefault(d, []).append(c * k)
        solver.add(z3.Sum([c for _, c in row]) == len(members))
        counts.append((members, row))
    solver.add(peak >= max(loads.values(), default=0))
    for d, ts in terms.items():
        solver.add(peak >= loads.get(d, 0) + z3.Sum(ts))
    solver.minimize(peak)
    result = solver.check()
    try:
        values = model_values(solver.model()) if result != z3.unsat else {}
    except z3.Z3Exception:
        values = {}
    if "peak" not in values:  # the limit came before any model
        return largest_first(items, loads)
    placed = {}
    for members, row in counts:
        keys = iter(sorted(key for key, _ in members))
        for target, c in row:
            for _ in range(values.get(str(c), 0)):
                placed[next(keys)] = target
    return values["peak"], placed
