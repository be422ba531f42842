"""What `design` answers: designs best first, and the question they answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from dpmsmt.actions import Action
from dpmsmt.findings import UsageError
from dpmsmt.model import Topology

__all__ = ["CRITERIA", "Design", "DesignError", "DesignResult"]

CRITERIA = ("unassigned", "longest_chain", "max_load", "new_servers")


class DesignError(UsageError):
    """A question `design` cannot ask: an unknown or down `--for` server, a bad option."""


@dataclass(frozen=True)
class Design:
    """One design: the new secondaries (as `reassign-secondary` actions with no old secondary),
    the new servers it installs, its costs, and the estate after it (`final_state`)."""

    rank: int
    complete: bool
    cost: dict
    actions: tuple[Action, ...]
    new_servers: tuple[tuple[str, str], ...] = ()  # (name, version)
    unassigned: tuple[str, ...] = ()  # DPM servers left without a secondary
    blocked_by: dict = field(default_factory=dict)  # server -> rule ids blocking every option
    final_state: Topology | None = field(default=None, compare=False, repr=False)

    @property
    def immediate(self) -> tuple[Action, ...]:
        return self.actions

    @property
    def final(self) -> tuple[Action, ...]:
        return ()

    @property
    def phases(self) -> dict[str, tuple[Action, ...]]:
        return {"immediate": self.actions, "final": ()}

    def sort_key(self) -> tuple:
        return tuple(sorted(a.sort_key() for a in self.actions))

    def action_json(self, a: Action) -> dict:
        new = {n for n, _ in self.new_servers}
        return {**a.to_json(), "datasources": list(a.datasources), "new": a.to in new}

    def to_json(self) -> dict:
        actions = [self.action_json(a) for a in self.actions]
        out = {
            "rank": self.rank,
            "complete": self.complete,
            "cost": dict(self.cost),
            "phases": {"immediate": actions, "final": []},
            "actions": actions,
            "new_servers": [{"name": n, "version": v} for n, v in self.new_servers],
        }
        if not self.complete:
            out["unassigned"] = list(self.unassigned)
            out["blocked_by"] = {k: list(v) for k, v in self.blocked_by.items()}
        return out


@dataclass(frozen=True)
class DesignResult:
    """The answer of `design`: designs best first, and what was asked."""

    file: str
    profile: str
    needs: tuple[str, ...]  # the DPM servers that need a secondary, sorted
    allow_new: int
    allow_cycles: bool
    preexisting: tuple[str, ...]  # fingerprints of blocking findings the estate already had
    designs: tuple[Design, ...]
    optimal: bool = True

    @property
    def plans(self) -> tuple[Design, ...]:
        return self.designs

    @property
    def complete(self) -> bool:
        """Whether a design gives every server that needs one a secondary."""
        return bool(self.designs) and self.designs[0].complete
