"""The answers of `dpmsmt resilience`: one per failure set, per round of equal size, the whole."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from dpmsmt.actions import Action
from dpmsmt.model import Topology, canon
from dpmsmt.plan import MoveClass, SecondaryChoice
from dpmsmt.recovery import CRITERIA

__all__ = ["WEAKEST", "FailureSet", "Resilience", "Round", "never_safe", "set_order", "weakest"]

WEAKEST = 5


@dataclass(frozen=True)
class FailureSet:
    """The answer for one set of failed DPM servers."""

    failed: tuple[str, ...]
    complete: bool
    optimal: bool
    cost: dict | None  # None: the solver gave up before any plan
    immediate: tuple[Action, ...] = ()
    final: tuple[Action, ...] = ()
    loses_history: tuple[str, ...] = ()
    loses_secondary: tuple[str, ...] = ()
    unprotected: tuple[str, ...] = ()
    derived: bool = False
    gave_up: str | None = None  # the solver's reason when it gave up without a plan
    # for derivation: load change per DPM server, the DPM servers the plan involves other than
    # move targets, and the choices it leaves open (`Plan.alternatives`)
    delta: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    footprint: frozenset[str] = field(default=frozenset(), compare=False, repr=False)
    alternatives: dict[str | tuple[str, str], MoveClass | SecondaryChoice] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def actions(self) -> tuple[Action, ...]:
        return self.immediate + self.final

    def hurts(self) -> set[str]:
        return {*self.loses_history, *self.loses_secondary, *self.unprotected}

    def to_json(self) -> dict:
        return {
            "failed": list(self.failed),
            "complete": self.complete,
            "cost": self.cost,
            "plan": {"actions": [a.to_json() for a in self.actions]},
            "loses_history": list(self.loses_history),
            "loses_secondary": list(self.loses_secondary),
            "unprotected": list(self.unprotected),
            "derived": self.derived,
            "optimal": self.optimal,
        }


@dataclass(frozen=True)
class Round:
    """The sets of one size: how many, how many solved and derived, and the time they took."""

    size: int
    sets: int
    solved: int
    derived: int
    seconds: float


@dataclass(frozen=True)
class Resilience:
    """The answer of `dpmsmt resilience`."""

    file: str
    failures: int
    sets: tuple[FailureSet, ...]
    weakest: tuple[tuple[str, dict], ...]
    never_safe: tuple[str, ...]
    single_points_of_failure: tuple[str, ...]
    solved: int
    derived: int
    already_down: tuple[str, ...] = ()
    rounds: tuple[Round, ...] = ()

    @property
    def complete(self) -> bool:
        return all(s.complete for s in self.sets)

    @property
    def optimal(self) -> bool:
        """No solver gave up (every set's plan is proved optimal, or derived from such plans)."""
        return all(s.optimal for s in self.sets)

    @property
    def unknown(self) -> tuple[tuple[str, ...], ...]:
        """The failure sets whose solver gave up (no plan, or one not proved optimal)."""
        return tuple(s.failed for s in self.sets if not s.optimal)

    def exit_code(self) -> int:
        """3 when a solver gave up, else 1 when some set has no complete plan, else 0."""
        if not self.optimal:
            return 3
        return 0 if self.complete else 1

    @classmethod
    def of(
        cls,
        topology: Topology,
        failures: int,
        sets: tuple[FailureSet, ...],
        rounds: tuple[Round, ...],
        already_down: tuple[str, ...],
    ) -> Resilience:
        """The answer with its summary (`dpmsmt.resilience`'s docstring) from every set's."""
        return cls(
            file=topology.file,
            failures=failures,
            sets=sets,
            weakest=weakest(sets),
            never_safe=never_safe(topology, sets),
            single_points_of_failure=tuple(
                s.failed[0] for s in sets if len(s.failed) == 1 and s.unprotected
            ),
            solved=sum(r.solved for r in rounds),
            derived=sum(r.derived for r in rounds),
            already_down=already_down,
            rounds=rounds,
        )


def set_order(failed: Sequence[str]) -> tuple:
    """Sets by size, then by their servers' names."""
    return (len(failed), [canon(n) for n in failed])


def weakest(sets: Sequence[FailureSet]) -> tuple[tuple[str, dict], ...]:
    """The WEAKEST single failures that cost most (lexicographic cost, largest first)."""
    singles = [s for s in sets if len(s.failed) == 1 and s.cost is not None]
    ranked = sorted(
        singles,
        key=lambda s: (tuple(-s.cost[c] for c in CRITERIA), canon(s.failed[0])),
    )
    return tuple((s.failed[0], s.cost) for s in ranked[:WEAKEST])


def never_safe(topology: Topology, sets: Sequence[FailureSet]) -> tuple[str, ...]:
    """The data sources every evaluated set that affects them hurts (at least one does)."""
    by_dpm: dict[str, list[str]] = {}
    for ds in topology.datasources():
        for d in {ds.primary, ds.secondary} - {None}:
            by_dpm.setdefault(d, []).append(ds.id)
    affected_by: dict[str, int] = {}
    hurt_by: dict[str, int] = {}
    for s in sets:
        if s.cost is None:
            continue
        affected = {i for d in s.failed for i in by_dpm.get(d, ())}
        hurts = s.hurts()
        for i in affected:
            affected_by[i] = affected_by.get(i, 0) + 1
            if i in hurts:
                hurt_by[i] = hurt_by.get(i, 0) + 1
    return tuple(sorted((i for i, n in affected_by.items() if hurt_by.get(i, 0) == n), key=canon))
