"""What the synthesis commands answer: a recovery `Plan`, the `Suggestion` that ranks plans, the
typed alternatives a plan leaves open, and the one rule that names a new DPM server.

A plan's alternatives are the choices that give the same costs but `max_load` (`resilience`
re-places moves and new secondaries with them when it joins the plans of independent parts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from dpmsmt.actions import Action
from dpmsmt.model import Topology, canon

__all__ = [
    "CRITERIA",
    "NEW_DPM",
    "MoveClass",
    "Plan",
    "SecondaryChoice",
    "Suggestion",
    "failover_server_name",
    "new_server_name",
]

NEW_DPM = "NEW-DPM-"  # a new DPM server is NEW-DPM-<k>


def new_server_name(taken: Iterable[str], first: int = 1, step: int = 1) -> str:
    """The first NEW-DPM-<k>, k = first, first + step, …, whose name (case-insensitively) is
    not in `taken`: placeholder names must never collide with a server of the estate."""
    names = {canon(n) for n in taken}
    k = first
    while canon(f"{NEW_DPM}{k}") in names:
        k += step
    return f"{NEW_DPM}{k}"


def failover_server_name(taken: Iterable[str], down: Iterable[str], p: str) -> str:
    """The new DPM server that takes the servers of the down DPM server p: one per down server,
    numbered by p's place among them (by name), so that a failure set names it the same way
    whichever part of the set is solved first."""
    ordered = sorted(set(down), key=canon)
    return new_server_name(taken, ordered.index(p) + 1, len(ordered))


# the costs of a plan, in rules.md's order of ranking (`--rank` reorders them); no Z3 here,
# so `--help` and `--rank`'s check need none
CRITERIA = (
    "unprotected",
    "history_broken",
    "exposure",
    "secondary_lost",
    "new_servers",
    "rebuilds",
    "repointed",
    "max_load",
)


@dataclass(frozen=True)
class MoveClass:
    """A moved server's move class: every member takes it with the same costs but max_load."""

    members: tuple[str, ...]  # the class, by name
    target_holds: int  # data sources the target holds (as primary)
    protector_holds: int  # of those, what the target's protector holds (as secondary)
    secondary: str | None  # the failed primary's secondary


@dataclass(frozen=True)
class SecondaryChoice:
    """The legal new secondaries of a DPM server whose secondary is down."""

    targets: tuple[str, ...]
    holds: int  # data sources the new secondary holds


@dataclass(frozen=True)
class Plan:
    """One recovery plan: its phases, costs, what it keeps and loses, and its proof states."""

    rank: int
    complete: bool
    cost: dict
    immediate: tuple[Action, ...]
    final: tuple[Action, ...]
    keeps: dict
    loses: dict
    unprotected: tuple[str, ...] = ()
    blocked_by: dict = field(default_factory=dict)
    immediate_state: Topology | None = field(default=None, compare=False, repr=False)
    final_state: Topology | None = field(default=None, compare=False, repr=False)
    # the choices whose alternatives give the plan the same costs but max_load: per moved
    # server (by name) its MoveClass; per ("reassign-secondary", y) a SecondaryChoice
    alternatives: dict[str | tuple[str, str], MoveClass | SecondaryChoice] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def phases(self) -> dict[str, tuple[Action, ...]]:
        return {"immediate": self.immediate, "final": self.final}

    @property
    def actions(self) -> tuple[Action, ...]:
        return self.immediate + self.final

    def sort_key(self) -> tuple:
        return tuple(sorted(a.sort_key() for a in self.actions))

    def to_json(self) -> dict:
        out = {
            "rank": self.rank,
            "complete": self.complete,
            "cost": self.cost,
            "phases": {
                "immediate": [a.to_json() for a in self.immediate],
                "final": [a.to_json() for a in self.final],
            },
            "actions": [a.to_json() for a in self.actions],
            "keeps": self.keeps,
            "loses": self.loses,
        }
        if not self.complete:
            out["unprotected"] = list(self.unprotected)
            out["blocked_by"] = self.blocked_by
        return out


@dataclass(frozen=True)
class Suggestion:
    """The answer of suggest-move: plans best first, and what was assumed."""

    file: str
    failed: tuple[str, ...]
    removed: tuple[str, ...]
    preexisting: tuple[str, ...]
    plans: tuple[Plan, ...]
    optimal: bool = True

    @property
    def complete(self) -> bool:
        return any(p.complete for p in self.plans)
