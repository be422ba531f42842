"""Why nothing is possible: an irreducible set of rules that blocks every option.

Each rule's constraints are one named assertion; an unsat core names the rules that block, and
deleting them one by one in rule-id order (keeping a deletion where the rest stay unsat) leaves
a set where every rule is needed: what `blocked_by` shows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import z3

__all__ = ["irreducible"]


def irreducible(
    per_rule: dict[str, list],
    solver: Callable[[], z3.Solver],
    *,
    precheck: bool = False,
    conj: Callable[[list], z3.BoolRef] = z3.And,
) -> list[str]:
    """The rule ids of an irreducible unsat subset of `per_rule` (rule id -> constraints) on a
    fresh `solver()` each (it holds what every option shares); [] where they are satisfiable.
    With `precheck`, all of them are tried unnamed first (cheaper where they often are sat)."""
    names = sorted(per_rule)

    def unsat(subset: Sequence[str]) -> bool:
        s = solver()
        for name in subset:
            s.add(per_rule[name])
        return s.check() == z3.unsat

    if precheck and not unsat(names):
        return []
    s = solver()
    for name in names:
        s.assert_and_track(conj(per_rule[name]), name)
    if s.check() != z3.unsat:
        return []
    kept = sorted(str(c) for c in s.unsat_core())
    for name in list(kept):
        trial = [n for n in kept if n != name]
        if unsat(trial):
            kept = trial
    return kept
