"""Solving one failure set with suggest-move's synthesis, in this process or in a worker."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from dpmsmt.findings import SolverGaveUp
from dpmsmt.model import Topology, canon
from dpmsmt.recovery import KnownErrors, fresh_z3, synthesize
from dpmsmt.resilience.result import FailureSet

__all__ = ["SetSolver", "solve_set"]


def solve_set(
    topology: Topology,
    failed: Sequence[str],
    timeout: float | None,
    planner: Callable = synthesize,
    known: KnownErrors | None = None,
) -> FailureSet:
    """The best plan for one failure set, by `planner(..., top=1)` (`synthesize`, which runs Z3
    in a fresh context: a set's answer does not depend on which process solved which sets
    before it). `known`: the estate's errors before the failure, checked once for many sets."""
    failed = tuple(sorted(failed, key=canon))
    try:
        # synthesize limits its optimizer itself, but not the enumeration of equally good
        # plans, which could otherwise run on without end: `timeout` bounds every Z3 check
        with fresh_z3(timeout):
            suggestion = planner(topology, failed=list(failed), top=1, timeout=timeout, known=known)
    except SolverGaveUp as e:
        return FailureSet(
            failed=failed, complete=False, optimal=False, cost=None, gave_up=str(e) or "unknown"
        )
    if not suggestion.plans:
        return FailureSet(failed=failed, complete=False, optimal=suggestion.optimal, cost=None)
    plan = suggestion.plans[0]
    final = plan.final_state
    return FailureSet(
        failed=failed,
        complete=plan.complete,
        optimal=suggestion.optimal,
        cost=dict(plan.cost),
        immediate=tuple(plan.immediate),
        final=tuple(plan.final),
        loses_history=tuple(sorted(plan.loses.get("history", ()), key=canon)),
        loses_secondary=tuple(sorted(plan.loses["secondary_protection"], key=canon)),
        unprotected=tuple(sorted(plan.unprotected, key=canon)),
        delta=load_change(topology, final) if final is not None else {},
        footprint=_footprint(failed, plan.actions),
        alternatives=dict(plan.alternatives),
    )


@dataclass(frozen=True)
class SetSolver:
    """`solve_set` for one topology and time limit, with the estate's errors checked once: what a
    worker process holds (the pool sends it once per worker, and then only the failure sets)."""

    topology: Topology
    timeout: float | None = 60.0
    planner: Callable = synthesize  # a module-level function: workers unpickle it by name
    known: KnownErrors = field(default_factory=KnownErrors, compare=False, repr=False)

    def __call__(self, failed: Sequence[str]) -> FailureSet:
        return solve_set(self.topology, failed, self.timeout, self.planner, self.known)

    def for_worker(self) -> SetSolver:
        """A copy to send to a worker: without the topology's position index (it does not
        pickle, and no plan needs it) and with a cache of its own."""
        return replace(self, topology=replace(self.topology, locate=None), known=KnownErrors())


def _footprint(failed: tuple[str, ...], actions) -> frozenset[str]:
    """The failed servers and the DPM servers the plan's actions name, but move targets."""
    footprint = set(failed)
    for a in actions:
        ends = (
            (a.dpm, a.from_)
            if a.action in ("move", "reassign-secondary")
            else (a.dpm, a.from_, a.to)
        )
        footprint.update(x for x in ends if x is not None)
    return frozenset(footprint)


def _held(servers: Iterable) -> dict[str, int]:
    """Data sources each DPM server holds of these protected servers, as primary or secondary."""
    out: dict[str, int] = {}
    for server in servers:
        for ds in server.datasources:
            if ds.primary is not None:
                out[ds.primary] = out.get(ds.primary, 0) + 1
            if ds.secondary is not None and ds.secondary != ds.primary:
                out[ds.secondary] = out.get(ds.secondary, 0) + 1
    return out


def load_change(topology: Topology, final: Topology) -> dict[str, int]:
    """The change of each DPM server's load from `topology` to a plan's `final` state (only the
    protected servers the plan changed: apply_actions keeps the others' objects)."""
    changed = [n for n, s in final.servers.items() if topology.servers.get(n) is not s]
    before = _held(topology.servers[n] for n in changed if n in topology.servers)
    after = _held(final.servers[n] for n in changed)
    delta = {d: after.get(d, 0) - before.get(d, 0) for d in {*before, *after}}
    return {d: k for d, k in delta.items() if k}
