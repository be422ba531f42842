"""`resilience` without `--jobs` picks how many processes from the work (issue 11): a small
estate is answered in this process, a large amount of work gets a pool of every CPU."""

from __future__ import annotations

import os
from concurrent.futures import Future

import pytest
from paths import REPO_DIR

import dpmsmt
from dpmsmt.resilience import SetPool, SetSolver, resilience, solve_set
from dpmsmt.workload import Workload

SEED = REPO_DIR / "models" / "seed" / "before.yaml"


def test_the_pool_pays_only_for_long_work_on_several_processors():
    w = Workload()
    for _ in range(3):
        w.record(0.2)
    assert not w.worth_a_pool(10, 2)  # 2 s left: not worth starting workers
    assert w.worth_a_pool(1000, 2)  # 200 s left
    assert not w.worth_a_pool(1000, 1)  # one processor: nothing to share
    assert not Workload(solved=2, seconds=100.0).worth_a_pool(1000, 4)  # too few samples


def four_cpus(monkeypatch):
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1, 2, 3}, raising=False)


def test_a_small_estate_starts_no_pool_by_default(monkeypatch):
    four_cpus(monkeypatch)

    def no_pool(*_a, **_k):
        raise AssertionError("a process pool for a handful of failure sets")

    topology = dpmsmt.load(str(SEED))
    by_default = resilience(topology, failures=2, pool=no_pool)
    assert by_default.sets == resilience(topology, failures=2, jobs=1).sets


class Inline:
    """A pool that answers each set as it is submitted, in this process (Z3 is not thread-safe
    and spawning workers is slow); it stands for the process pool `resilience` would start."""

    def __init__(self, solve, jobs):
        self.solve = solve
        self.jobs = jobs

    def submit(self, failed):
        future = Future()
        future.set_result(self.solve(failed))
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def test_long_work_gets_a_pool_and_the_same_answer(monkeypatch):
    four_cpus(monkeypatch)
    used = []

    def pool(solve, jobs):
        used.append(jobs)
        return Inline(solve, jobs)

    topology = dpmsmt.load(str(SEED))
    eager = Workload(worth_seconds=0.0, samples=1)
    pooled = resilience(topology, failures=2, pool=pool, workload=eager)
    assert pooled.sets == resilience(topology, failures=2, jobs=1).sets
    assert used == [4]


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_explicit_jobs_is_obeyed(jobs):
    used = []
    pool = lambda s, j: used.append(j) or Inline(s, j)  # noqa: E731
    resilience(dpmsmt.load(str(SEED)), failures=2, jobs=jobs, pool=pool)
    assert used == ([2] if jobs == 2 else [])


def test_the_process_pool_gives_the_same_answers():
    """The real pool (spawned workers) against this process, on the seed's pairs."""
    topology = dpmsmt.load(str(SEED))
    two = resilience(topology, failures=2, jobs=2, decompose=False)
    assert two.sets == resilience(topology, failures=2, jobs=1, decompose=False).sets


def broken_planner(topology, **_kw):
    raise ValueError("a planner that fails")


def test_an_error_in_a_worker_reaches_the_caller():
    with pytest.raises(ValueError, match="a planner that fails"):
        resilience(dpmsmt.load(str(SEED)), failures=1, jobs=2, planner=broken_planner)


def test_an_interrupted_analysis_stops_its_pool_without_waiting():
    shutdowns = []

    class Recording(Inline):
        def shutdown(self, wait=True, cancel_futures=False):
            shutdowns.append((wait, cancel_futures))

    def interrupt(done, total):
        if done == total - 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        resilience(dpmsmt.load(str(SEED)), failures=1, jobs=2, pool=Recording, progress=interrupt)
    assert shutdowns == [(False, True)]
    resilience(dpmsmt.load(str(SEED)), failures=1, jobs=2, pool=Recording)
    assert shutdowns == [(False, True), (True, False)]


def test_a_few_sets_start_a_few_workers():
    topology = dpmsmt.load(str(SEED))
    pool = SetPool(SetSolver(topology), jobs=8)
    try:
        answer = pool.submit(("DPM1",)).result()
        assert pool.workers == 1
    finally:
        pool.shutdown()
    assert answer == solve_set(topology, ("DPM1",), 60.0)
