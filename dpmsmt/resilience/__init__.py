"""resilience: the best recovery plan for every set of at most K DPM servers failing at once.

`resilience(topology, failures=K)` enumerates the sets of at most K up DPM servers (each fails as
the file says: `status: failed`, rebuildable, with its `failure` record or the default one) and
finds the best plan of each with `synthesize(..., top=1)` (`solve`). Every set of size k needs
the answers of the smaller sets, so the sets are handled in rounds of equal size; the sets of one
round that must be solved are solved in parallel (`jobs` processes, `pool`), and the answer never
depends on the order in which they finish.

Most sets need no solver. An irrelevant DPM server's failure on its own (`decompose`) has the
empty plan (complete; every criterion 0 except `max_load`, which is the largest load of the
estate as it is). A set whose servers split into independent parts, each a smaller set already
answered, is **derived** from its parts' plans when they can keep out of each other's reach
(`derive`); it is optimal when every part's plan is (a part whose solver reached its time limit
with a plan gives a union that is not proved optimal either: the joint problem is no easier).
The parts' plans then change disjoint components and disjoint protected servers and meet only on
the loads of shared move targets (CAPACITY-* are warnings); every rule instance that can be an
error reads one part's entities only, so the union is legal.

How a derived set's cost combines the parts' costs:

- `unprotected`, `history_broken`, `exposure`, `secondary_lost`, `new_servers`, `rebuilds`,
  `repointed`: the sum. The joint problem splits into independent problems whose costs add, and
  the lexicographic order is compatible with addition, so the sum of the parts' optima is the
  joint optimum of these seven criteria (tests/test_resilience.py compares with joint solves,
  on fixed and on generated estates). The argument needs every option of a part in the joint
  failure to be an option of its own failure at no lower cost: the other failed servers are no
  targets, and a target they protect gives the moved data sources a failed secondary (a cost
  the part's own failure does not have).
- `max_load`: the largest load of the union plan's final state, computed exactly from the
  parts' load changes (`base(d) + Σ Δ_part(d)` over every DPM server d). The union is one legal
  plan with these costs, so this is an upper bound of the optimal `max_load` (the last
  criterion); a joint solve places within the classes it chose and may come out lower or
  higher. Derived sets carry `"derived": true`.

`timeout` bounds every Z3 check of a set (the optimizer's, and the enumeration of equally good
plans, which synthesize leaves unbounded); a set takes at most a few times that. Worker processes
are spawned, so a script that calls `resilience` with `jobs > 1` needs the usual
`if __name__ == "__main__":` guard.

Where the file already has failed or removed DPM servers, every plan also recovers them; then
nothing is derived (each set's answer includes theirs) and every set is solved.

Per set: `loses_history` is the plan's `loses["history"]` (data sources that start a new
recovery-point chain); `loses_secondary` is the plan's `loses["secondary_protection"]`: every
data source that had an up secondary before the failure and has no up secondary in the plan's
final state, whether its primary or its secondary failed (the data sources the cost
`secondary_lost` counts); `unprotected` is the plan's `unprotected`.

Summary:

- `weakest`: the five DPM servers whose failure alone costs most (lexicographic cost, largest
  first; ties by name), among those whose set has a plan.
- `single_points_of_failure`: DPM servers whose failure alone leaves some data source
  unprotected in the best plan.
- `never_safe`: a failure set S **affects** a data source when the file names a member of S as
  its primary or its secondary; the set **hurts** it when it is in the set's `loses_history`,
  `loses_secondary` or `unprotected`. A data source is never safe when at least one evaluated set
  (of size 1 … K) affects it and every evaluated set that affects it hurts it. Sets whose solver
  gave up without a plan are left out of both counts.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from concurrent.futures import Future, as_completed
from math import comb

from dpmsmt.model import Topology
from dpmsmt.recovery import synthesize
from dpmsmt.resilience.cache import Answers
from dpmsmt.resilience.decompose import Estate
from dpmsmt.resilience.derive import derive
from dpmsmt.resilience.pool import PoolFactory, SetExecutor, SetPool
from dpmsmt.resilience.result import FailureSet, Resilience, Round
from dpmsmt.resilience.solve import SetSolver, solve_set
from dpmsmt.workload import Workload, cpus

__all__ = [
    "Answers",
    "Estate",
    "FailureSet",
    "PoolFactory",
    "Resilience",
    "Round",
    "SetPool",
    "SetSolver",
    "derive",
    "resilience",
    "solve_set",
]

Progress = Callable[[int, int], None]


def resilience(
    topology: Topology,
    *,
    failures: int = 1,
    jobs: int | None = None,
    timeout: float | None = 60.0,
    progress: Progress | None = None,
    decompose: bool = True,
    planner: Callable = synthesize,
    pool: PoolFactory = SetPool,
    workload: Workload | None = None,
) -> Resilience:
    """Answer every failure set of at most `failures` up DPM servers (module docstring).

    `jobs`: worker processes for the sets that need a solver (default: chosen from the work by
    `workload`, `dpmsmt.workload`: this process, until the sets left are worth a pool of all
    CPUs; 1 solves in this process). `progress(done, total)` is called as sets are answered.
    `decompose=False` solves every set (for tests and comparisons). `planner` answers one set as
    `synthesize` does, and `pool(solver, jobs)` starts the workers: seams for tests.
    """
    if failures < 1:
        raise ValueError("failures: at least 1")
    estate = Estate.of(topology)
    analysis = _Analysis(
        estate,
        SetSolver(topology, timeout, planner),
        jobs=jobs,
        progress=progress,
        decompose=decompose,
        pool=pool,
        workload=workload or Workload(),
    )
    rounds = analysis.run(failures)
    return Resilience.of(
        topology, failures, analysis.answers.in_order(), rounds, estate.already_down
    )


class _Analysis:
    """The rounds of one analysis: what is answered, the pool once started, and the sets of the
    next size queued early (those that need a solver whatever the smaller sets' answers are,
    queued behind the current round's sets so that the workers do not wait between rounds)."""

    def __init__(self, estate, solve, *, jobs, progress, decompose, pool, workload):
        self.estate = estate
        self.solve: SetSolver = solve
        self.answers = Answers(estate)
        self.auto = jobs is None  # solve here until the work left is worth a pool
        self.jobs = max(1, jobs if jobs is not None else cpus())
        self.decompose = decompose
        self.workload: Workload = workload
        self.tick: Progress = progress or (lambda _d, _t: None)
        self.total = 0
        self.start_pool: PoolFactory = pool
        self.pool: SetExecutor | None = None
        self.early: dict[tuple[str, ...], Future] = {}

    def run(self, failures: int) -> tuple[Round, ...]:
        sizes = range(1, min(failures, len(self.estate.candidates)) + 1)
        self.total = sum(comb(len(self.estate.candidates), k) for k in sizes)
        self.tick(0, self.total)
        try:
            rounds = tuple(self._round(k, k + 1 in sizes) for k in sizes)
        except BaseException:  # interrupted: do not wait for the sets being solved
            if self.pool is not None:
                self.pool.shutdown(wait=False, cancel_futures=True)
            raise
        if self.pool is not None:
            self.pool.shutdown()
        return rounds

    def _round(self, k: int, more: bool) -> Round:
        start = time.perf_counter()
        pending, n_sets = self._derive_all(k)
        self.tick(len(self.answers), self.total)
        following = self._always_solved(k + 1) if more and self.jobs > 1 else []
        todo = list(pending)
        if self.auto and self.pool is None:
            todo = self._solve_here_while_small(todo)
            following = following if todo else []
        if self.jobs == 1 or (len(todo) <= 1 and not self.early and not following):
            for failed in todo:
                self._answer(failed, self.solve(failed))
        else:
            self._solve_pooled(todo, following)
        n_solved = len(pending)
        return Round(k, n_sets, n_solved, n_sets - n_solved, time.perf_counter() - start)

    def _answer(self, failed: tuple[str, ...], answer: FailureSet) -> None:
        self.answers.put(failed, answer)
        self.tick(len(self.answers), self.total)

    def _derive_all(self, k: int) -> tuple[list[tuple[str, ...]], int]:
        """Answer the sets of size k that derive; return those left to solve, and how many."""
        pending: list[tuple[str, ...]] = []
        n_sets = 0
        for failed in itertools.combinations(self.estate.candidates, k):
            n_sets += 1
            answer = None
            if failed not in self.early and self.decompose:
                answer = derive(self.answers, failed)
            if answer is None:
                pending.append(failed)
            else:
                self.answers.put(failed, answer)
        return pending, n_sets

    def _always_solved(self, k: int) -> list[tuple[str, ...]]:
        """The sets of size k that are solved whatever the smaller sets' answers are."""
        estate = self.estate
        return [
            f
            for f in itertools.combinations(estate.candidates, k)
            if not self.decompose or estate.already_down or estate.one_part(f)
        ]

    def _solve_here_while_small(self, todo: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
        """Solve sets in this process, timing each, while those left are not worth a pool."""
        while todo and not self.workload.worth_a_pool(len(todo), self.jobs):
            failed, clock = todo.pop(0), time.perf_counter()
            self.answers.put(failed, self.solve(failed))
            self.workload.record(time.perf_counter() - clock)
            self.tick(len(self.answers), self.total)
        return todo

    def _solve_pooled(self, todo: list, following: list) -> None:
        if self.pool is None:
            self.pool = self.start_pool(self.solve, self.jobs)
        futures = {self.early.pop(f, None) or self.pool.submit(f): f for f in todo}
        for f in following:
            self.early[f] = self.pool.submit(f)
        for future in as_completed(futures):
            self._answer(futures[future], future.result())
