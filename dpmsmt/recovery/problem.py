"""suggest-move: synthesize ranked, legal recovery plans after DPM servers fail (rules.md).

Encoding idea. Only the protected servers whose primary failed are unknowns. Servers that are
interchangeable (same failed primary, same agents, same facts of their data sources) form a
group, and the optimizer chooses how many of each group take each option (`options`); move
targets are counted the same way, by classes of targets no rule can tell apart. Legality comes
from the rule catalogue itself (`optimize.legality`); costs are the criteria of rules.md,
minimized lexicographically (`encoding`, `optimize.search`); equal-cost plans are ordered by
their sorted action lists and later plans come from blocking earlier ones (`solve`). Every plan
is then applied and proved legal by `check` on its states before it is shown (`verify`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dpmsmt.actions import apply_actions
from dpmsmt.model import Topology
from dpmsmt.optimize.legality import KnownErrors, Legality, error_rules
from dpmsmt.optimize.search import fresh_z3
from dpmsmt.plan import Plan, Suggestion
from dpmsmt.recovery.encoding import CRITERIA
from dpmsmt.recovery.failure import Failure, failure_of
from dpmsmt.recovery.options import Options
from dpmsmt.recovery.secondaries import Secondaries
from dpmsmt.recovery.solve import solve
from dpmsmt.recovery.verify import touched

__all__ = ["Problem", "apply", "problem_of", "suggest_moves", "synthesize"]


class Problem:
    """The synthesis problem of one failure: its facts, options and secondaries; the order of
    the criteria; and `prune` (no moves for groups that can switch: `Options.legal_options`)."""

    def __init__(
        self,
        failure: Failure,
        profile: str,
        pre: set[str],
        pre_ds: set,
        allowed,
        order,
        *,
        classes: bool = True,
    ):
        self.failure = failure
        self.classes = classes  # group move targets into classes (False: ground every target)
        self.prune = False
        self.profile = profile
        self.pre = pre
        self.order = order
        self.legal = Legality(failure.state, failure.failed, profile, pre_ds, pre)
        self.state = failure.state
        self.down = set(failure.failed) | set(failure.removed)
        self.options = Options(failure, self.legal, profile, allowed, classes)
        self.groups = self.options.groups
        self.rebuild_terms = self.options.rebuild_terms
        truth = self.legal.truth()
        self.rebuildable = {
            p: True
            for p, terms in self.rebuild_terms.items()
            if all(truth[n] for ns in terms.values() for n in ns)
        }
        self.reassign = self.options.reassign_options()
        self.touched = touched(self.groups, self.state, self.down)
        self.error_rules = error_rules(profile)
        self.secondaries = Secondaries(
            self.state, self.down, self.legal, profile, pre, self.groups, self.reassign
        )
        self.base_loads = self.secondaries.base_loads

    def solve(self, top: int, timeout: float | None) -> tuple[list[Plan], bool]:
        """The best `top` plans, and whether the first is proved optimal (`recovery.solve`)."""
        return solve(self, top, timeout)


def suggest_moves(
    topology: Topology,
    *,
    failed: Sequence[str] = (),
    removed: Sequence[str] = (),
    top: int = 3,
    allow: Iterable[str] | None = None,
    rank: Sequence[str] | None = None,
    timeout: float | None = 60.0,
) -> list[Plan]:
    """Ranked recovery plans for the failed DPM servers (the Python API of cli.md)."""
    return list(
        synthesize(
            topology,
            failed=failed,
            removed=removed,
            top=top,
            allow=allow,
            rank=rank,
            timeout=timeout,
        ).plans
    )


def apply(topology: Topology, plan: Plan) -> Topology:
    """A plan's final state: its actions applied to the estate after the failure.

    Plans from `suggest_moves` carry that state already (with the failed servers marked); for a
    plan built by hand, its actions are applied to `topology` in order.
    """
    if plan.final_state is not None:
        return plan.final_state
    return apply_actions(topology, plan.actions)


def synthesize(
    topology: Topology,
    *,
    failed: Sequence[str] = (),
    removed: Sequence[str] = (),
    top: int = 3,
    allow: Iterable[str] | None = None,
    rank: Sequence[str] | None = None,
    timeout: float | None = 60.0,
    known: KnownErrors | None = None,
) -> Suggestion:
    """Find the best `top` plans; raise SolverGaveUp only when no plan at all was found in time.

    Z3 runs in a fresh main context: among plans of equal cost, which one Z3 finds first depends
    on the terms the context already holds, and the same question must get the same answer
    however many were asked before it in the process. `known`: the errors of estates asked
    about before (one object for many failures of one estate checks it once)."""
    with fresh_z3():
        problem = problem_of(
            topology, failed, removed, allow=allow, rank=rank, timeout=timeout, known=known
        )
        plans, optimal = problem.solve(top, timeout)
    return Suggestion(
        file=topology.file,
        failed=problem.failure.failed,
        removed=problem.failure.removed,
        preexisting=tuple(sorted(problem.pre)),
        plans=tuple(plans),
        optimal=optimal,
    )


def problem_of(
    topology: Topology,
    failed: Sequence[str] = (),
    removed: Sequence[str] = (),
    *,
    allow: Iterable[str] | None = None,
    rank: Sequence[str] | None = None,
    timeout: float | None = 60.0,
    classes: bool = True,
    known: KnownErrors | None = None,
) -> Problem:
    """The synthesis problem of a failure: what failed, the errors the estate already had
    (`preexisting`: the errors of the file as given, where the servers named by `failed` and
    `removed` are still as the file says: `known` remembers them), the unknowns."""
    allowed = set(allow) if allow is not None else None
    order = tuple(rank) if rank else CRITERIA
    if "unprotected" not in order:
        order = ("unprotected", *order)  # complete plans first unless asked otherwise
    order = order + tuple(c for c in CRITERIA if c not in order)
    failure = failure_of(topology, failed, removed)
    preexisting, pre_ds = (known or KnownErrors()).of(topology, timeout)
    return Problem(failure, topology.profile, preexisting, pre_ds, allowed, order, classes=classes)
