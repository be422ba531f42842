"""Lexicographic minimum of several criteria on one incremental solver, and the top-K loop.

Both synthesis commands rank answers by criteria in a fixed order: each criterion is minimized
in turn with the earlier ones fixed at their least values. Z3's models depend on the exact
sequence of checks, assertions, pushes and pops, so each caller says how a trial bound is posed
(`scoped`: push, assert, check, pop; otherwise: a check under an assumption) and how a least
value is kept (`Criterion.fix`); the search itself is the same binary (or linear) search.
The order in which Z3 terms are made counts too (it orders Z3's internal tables): a caller
makes each bound when it is posed, as `Criterion.bound` does, not ahead of time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence, Sized
from contextlib import contextmanager
from dataclasses import dataclass

import z3

from dpmsmt.encode import model_values

__all__ = [
    "Criterion",
    "Minimum",
    "attempts",
    "block",
    "fresh_z3",
    "lexmin",
    "minimize",
]


@dataclass(frozen=True)
class Criterion:
    """One criterion of a lexicographic minimum."""

    name: str
    bound: Callable[[int], z3.BoolRef]  # the criterion is at most v
    value: Callable[[z3.ModelRef], int]  # its value in a model
    # its least possible value, given the least values of the earlier criteria and its value
    # in the current model (an int: always that)
    low: int | Callable[[dict[str, int], int], int] = 0
    halving: bool = True  # binary search; False: from `low` up, one value at a time
    # keeps the least value v (reached in the model given) for the criteria after it;
    # default: assert bound(v)
    fix: Callable[[z3.Solver, int, z3.ModelRef], None] | None = None


@dataclass(frozen=True)
class Minimum:
    """The least model found, the criteria's values in it, and whether every step was proved
    (`reason`: why the solver gave up on a step, when it did)."""

    model: z3.ModelRef
    values: dict[str, int]
    proved: bool = True
    reason: str | None = None


def attempts(top: int, found: Sized) -> Iterator[int]:
    """The attempts of a top-K search: until `top` answers are found, and at most top * 4 + 8
    (an answer the proof refuses costs an attempt; the bound keeps a disagreement between the
    encoding and `check` from looping)."""
    attempt = 0
    while len(found) < top and attempt < top * 4 + 8:
        attempt += 1
        yield attempt


def minimize(
    solver: z3.Solver,
    model: z3.ModelRef,
    criteria: Sequence[Criterion],
    check: Callable[..., z3.CheckSatResult],
    *,
    scoped: bool = False,
    give_up: bool = True,
) -> Minimum:
    """Minimize `criteria` in turn from `model` (a model of `solver`). `check(*assumptions)`
    runs one check within the caller's time limit. Where a check gives up: with `give_up`,
    return the best model so far at once; without, stop searching but still fix each later
    criterion at its value in that model."""
    values: dict[str, int] = {}
    proved, reason = True, None
    for c in criteria:
        value = c.value(model)
        low = c.low if isinstance(c.low, int) else c.low(values, value)
        while low < value and proved:
            trial = (low + value) // 2 if c.halving else low
            result, found = _probe(solver, check, c.bound(trial), scoped)
            if result == z3.sat:
                model = found
                value = c.value(model)
            elif result == z3.unsat:
                low = trial + 1
            else:
                proved, reason = False, solver.reason_unknown()
                if give_up:
                    return Minimum(model, values, False, reason)
        values[c.name] = value
        if c.fix is None:
            solver.add(c.bound(value))
        else:
            c.fix(solver, value, model)
    return Minimum(model, values, proved, reason)


def _probe(solver: z3.Solver, check, bound: z3.BoolRef, scoped: bool):
    """One trial bound: (result, the model where sat)."""
    if not scoped:
        result = check(bound)
        return result, solver.model() if result == z3.sat else None
    solver.push()
    solver.add(bound)
    result = check()
    found = solver.model() if result == z3.sat else None
    solver.pop()
    return result, found


def lexmin(definitions: str, cons: list, costs: list, timeout: float | None):
    """The lexicographically least model of `cons` for `costs` (each a sum of non-negative
    terms): for each cost in turn, a binary search between 0 and its value in the last model,
    on one incremental QF_LIA solver, then the cost fixed at its least value. Returns (sat,
    model, None); (unsat, None, None); or (unknown, the best model so far or None, reason) when
    the time limit comes first. z3.Optimize gives the same optimum, ten times slower on these
    problems (its lexicographic combination of eight objectives)."""
    deadline = time.monotonic() + (timeout if timeout is not None else 600)
    solver = z3.SolverFor("QF_LIA")
    solver.set("random_seed", 0)
    solver.from_string(definitions)
    solver.add(cons)

    def check(*extra) -> z3.CheckSatResult:
        solver.set("timeout", max(1, int((deadline - time.monotonic()) * 1000)))
        return solver.check(*extra)

    result = check()
    if result != z3.sat:
        return result, None, solver.reason_unknown() if result == z3.unknown else None
    found = minimize(solver, solver.model(), [_cost(i, c) for i, c in enumerate(costs)], check)
    if not found.proved:
        return z3.unknown, found.model, found.reason
    return z3.sat, found.model, None


def _cost(i: int, cost: z3.ArithRef) -> Criterion:
    return Criterion(
        name=str(i),
        bound=lambda v: cost <= v,
        value=lambda m: m.eval(cost, model_completion=True).as_long(),
        fix=lambda solver, v, _model: solver.add(cost == v),
    )


def block(model: z3.ModelRef | dict[str, int], decision: Sequence) -> z3.BoolRef:
    """Exclude a model's answer: the decision variables determine it, so its non-zero Ints and
    its Booleans (true or false) say everything. `model`: a model or its values by name."""
    if not decision:
        return z3.BoolVal(False)
    values = model if isinstance(model, dict) else model_values(model)
    same = []
    for v in decision:
        value = values.get(v.decl().name(), 0)
        if z3.is_int(v):
            if value:
                same.append(v == value)
        elif value:
            same.append(v)
        else:
            same.append(z3.Not(v))
    return z3.Not(z3.And(same))


@contextmanager
def fresh_z3(timeout: float | None = None):
    """Run with a new Z3 main context and, with `timeout`, that default limit for every Z3
    check; the caller's context and limit are restored."""
    old_ctx = z3.z3._main_ctx
    old_timeout = z3.get_param("timeout")
    z3.z3._main_ctx = None
    if timeout is not None:
        z3.set_param("timeout", max(1, int(timeout * 1000)))
    try:
        yield
    finally:
        z3.z3._main_ctx = old_ctx
        z3.set_param("timeout", old_timeout)
