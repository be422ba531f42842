"""The answers of one analysis so far, and the reaches of their plans: owned by the analysis
(no module state), so two analyses in one process share nothing."""

from __future__ import annotations

from dpmsmt.resilience.decompose import Estate
from dpmsmt.resilience.result import FailureSet, set_order

__all__ = ["Answers"]


class Answers:
    """Failure sets answered so far, by their (sorted) failed servers; the reach of each plan's
    core is computed the first time a derivation asks for it."""

    def __init__(self, estate: Estate, sets: tuple[FailureSet, ...] = ()):
        self.estate = estate
        self._sets: dict[tuple[str, ...], FailureSet] = {s.failed: s for s in sets}
        self._reaches: dict[tuple[str, ...], frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._sets)

    def __contains__(self, failed: tuple[str, ...]) -> bool:
        return failed in self._sets

    def get(self, failed: tuple[str, ...]) -> FailureSet | None:
        return self._sets.get(failed)

    def put(self, failed: tuple[str, ...], answer: FailureSet) -> None:
        self._sets[failed] = answer

    def reach(self, failed: tuple[str, ...]) -> frozenset[str]:
        """The components of the servers the set's plan involves (its footprint), cached."""
        if failed not in self._reaches:
            self._reaches[failed] = self.estate.reach(self._sets[failed].footprint)
        return self._reaches[failed]

    def in_order(self) -> tuple[FailureSet, ...]:
        """Every answer, by size and then by the failed servers' names."""
        return tuple(self._sets[f] for f in sorted(self._sets, key=set_order))
