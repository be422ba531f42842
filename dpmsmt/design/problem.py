"""The question a design search answers, and the Z3 terms of grounded rule literals.

A literal is a tuple of Boolean names from the `Grounder`: `(holds,)` for a rule that blocks
wherever it is violated, `(holds, severe)` for a warning that blocks only where it is severe.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import z3

from dpmsmt.findings import SolverGaveUp
from dpmsmt.model import Topology

__all__ = ["CAPACITY", "CYCLE", "Literals", "Question", "all_of", "any_of", "lit_true"]

CAPACITY = ("CAPACITY-DATASOURCES", "CAPACITY-SERVERS")  # hard for a design, though warnings
CYCLE = "CYCLE-TWO-ONLY"  # hard for a design (whatever its severity) unless allow_cycles


@dataclass(frozen=True)
class Question:
    """What `design` was asked, with the findings the estate already had (they do not block)."""

    base: Topology
    profile: str
    needs: tuple[str, ...]
    allow_new: int
    allow_cycles: bool
    pre: frozenset[str]  # fingerprints of blocking findings already there
    pre_ds: frozenset[tuple[str, str]]  # (rule id, data source id) of those
    deadline: float | None

    @property
    def hard(self) -> set[str]:
        """Rule ids that block a design whatever their severity."""
        return set(CAPACITY) | (set() if self.allow_cycles else {CYCLE})

    def remaining(self) -> float | None:
        """Seconds left before the deadline; SolverGaveUp once it has passed."""
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise SolverGaveUp("the solver gave up: the time limit was reached")
        return left

    def timeout_ms(self) -> int:
        left = self.remaining()
        return 600_000 if left is None else max(1, int(left * 1000))


def lit_true(lit: tuple[str, ...], truth: dict[str, bool]) -> bool:
    return truth[lit[0]] or (len(lit) == 2 and not truth[lit[1]])


def all_of(terms: Iterable[z3.BoolRef]) -> z3.BoolRef:
    terms = list(terms)
    if not terms:
        return z3.BoolVal(True)
    return terms[0] if len(terms) == 1 else z3.And(terms)


def any_of(terms: Iterable[z3.BoolRef]) -> z3.BoolRef:
    terms = list(terms)
    if not terms:
        return z3.BoolVal(False)
    return terms[0] if len(terms) == 1 else z3.Or(terms)


class Literals:
    """The Z3 term of each literal, made once (terms cost 50-75 µs each through the API)."""

    def __init__(self) -> None:
        self._terms: dict[tuple[str, ...], z3.BoolRef] = {}

    def __call__(self, lit: tuple[str, ...]) -> z3.BoolRef:
        term = self._terms.get(lit)
        if term is None:
            if len(lit) == 1:
                term = z3.Bool(lit[0])
            else:
                term = z3.Or(z3.Bool(lit[0]), z3.Not(z3.Bool(lit[1])))
            self._terms[lit] = term
        return term

    def all(self, lits: Iterable[tuple[str, ...]]) -> z3.BoolRef:
        """Every literal holds."""
        return all_of(self(lit) for lit in lits)
