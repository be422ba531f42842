"""The waivers a plan makes unused: they matched a finding before the plan, and match nothing in
the estate after it.

Why: a plan removes findings (a data source moves away from the DPM server a waiver names, a
switched data source goes back). The waiver left behind is reported by `check` as WAIVER-UNUSED,
a warning, so `check --fail-on warning` of an estate that a dpmsmt plan produced would fail on
the plan's own success. The plan says which waivers it leaves unused, and `--apply` drops them.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable

from dpmsmt.model import Topology

__all__ = ["describe", "unused_waivers", "waiver_json", "without_waivers"]

_UNUSED = "WAIVER-UNUSED"


def _unused_positions(topology: Topology, today: _dt.date | None) -> set[int]:
    """The positions of the waivers that `check` of `topology` reports as matching nothing
    (only the rules the waivers name are checked: nothing else can use a waiver)."""
    from dpmsmt.check import check

    rules = {w.rule for w in topology.waivers} | {_UNUSED}
    report = check(topology, today=today, select=rules)
    return {f.entities["waiver"] for f in report.findings if f.rule == _UNUSED}


def unused_waivers(
    topology: Topology, state: Topology, *, today: _dt.date | None = None
) -> tuple[int, ...]:
    """Positions (in `topology.waivers`) of the waivers that match a finding in `topology` and
    none in `state`, the estate after a plan (which keeps the waivers of `topology`)."""
    if not topology.waivers or state is None:
        return ()
    after = _unused_positions(state, today)
    if not after:
        return ()
    return tuple(sorted(after - _unused_positions(topology, today)))


def waiver_json(topology: Topology, positions: Iterable[int]) -> list[dict]:
    """`[{"waiver": 0, "rule": …, "target": …}]`, the shape of WAIVER-UNUSED's entities."""
    return [
        {"waiver": i, "rule": topology.waivers[i].rule, "target": topology.waivers[i].target}
        for i in positions
    ]


def describe(topology: Topology, position: int) -> str:
    """`waiver 0 (REPLICA-SYNC-DAILY on Server1/D:\\)`, as WAIVER-UNUSED's message says it."""
    w = topology.waivers[position]
    return f"waiver {position} ({w.rule}" + (f" on {w.target}" if w.target else "") + ")"


def without_waivers(state: Topology, positions: Iterable[int]) -> Topology:
    """`state` without the waivers at `positions` (what `--apply` writes)."""
    from dataclasses import replace

    drop = set(positions)
    return replace(state, waivers=tuple(w for i, w in enumerate(state.waivers) if i not in drop))
