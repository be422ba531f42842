"""resilience: the best recovery plan for every set of at most K DPM servers failing at once.

`resilience(topology, failures=K)` enumerates the sets of at most K up DPM servers (each fails as
the file says: `status: failed`, rebuildable, with its `failure` record or the default one) and
finds the best plan of each with `synthesize(..., top=1)`. Every set of size k needs the answers
of the smaller sets, so the sets are handled in rounds of equal size; the sets of one round that
must be solved are solved in parallel (`jobs` processes), and the answer never depends on the
order in which they finish.

Most sets need no solver. Definitions used below:

- `comp(d)`: the weakly connected component of DPM server d in the protection graph (`P(x, y)`
  edges) of the file; a server with no edge is its own component.
- `touch(d)`: the protected servers with a data source whose `primary`, `secondary` or
  `switched_from` is d, or whose agent is d.
- A DPM server is **irrelevant** when it is the primary of no data source and nobody's secondary:
  no data source names it as `secondary` and it protects no DPM server. Its failure on its own has
  the empty plan (complete; every criterion 0 except `max_load`, which is the largest load of
  the estate as it is), derived without solving.
- Two failed servers **interact statically** when they are in the same component or some
  protected server touches both. A failure set whose servers all interact (one part) is solved.
- Otherwise the set splits into parts (the connected pieces of that relation), each a smaller
  set already answered. The **core** of a part's plan is the part itself and every DPM server
  its switches, switch-backs and rebuilds name, and the DPM servers that get a new secondary;
  its **reach** is the union of the components of the core and of the new secondaries. Move
  targets are not in the reach: a move changes no component, and the facts of its target only
  by load.
- When the cores are pairwise disjoint and every part has a plan, the parts' plans are made to
  keep out of each other's reach: a new secondary whose component meets another part's reach
  is replaced by another legal candidate of the part's plan (`Plan.alternatives`) outside it,
  and then a move whose target lies in another part's reach is put on another member of the
  same move class outside it (the least peak of the union's loads, then by name). Such a
  member or candidate has the same facts in the joint failure as in the part's own (it lies in
  components the other parts neither read nor change), so the same rule instances hold and the
  costs are the same. Where no such choice exists, the set is solved.
- Otherwise the set is **derived**: its plan is the union of the parts' plans (actions merged
  in the order suggest-move uses; `NEW-DPM-k` renumbered as a joint solve numbers them),
  optimal when every part's plan is (a part whose solver reached its time limit with a plan
  gives a union that is not proved optimal either: the joint problem is no easier). The parts'
  plans then change disjoint components and disjoint protected servers and meet only on the
  loads of shared move targets (CAPACITY-* are warnings); every rule instance that can be an
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
import pickle
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field, replace

import networkx as nx

from dpmsmt.actions import Action
from dpmsmt.findings import SolverGaveUp
from dpmsmt.graph import protection_graph
from dpmsmt.model import Topology, canon
from dpmsmt.plan import SecondaryChoice, failover_server_name
from dpmsmt.recovery import CRITERIA, KnownErrors, fresh_z3, synthesize
from dpmsmt.steps import move_action, reassign_action, renamed, run_order
from dpmsmt.workload import Workload, cpus

__all__ = ["FailureSet", "Resilience", "Round", "resilience", "solve_set"]

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
    # move targets, and the move classes (`Plan.alternatives`)
    delta: dict = field(default_factory=dict, compare=False, repr=False)
    footprint: frozenset = field(default=frozenset(), compare=False, repr=False)
    alternatives: dict = field(default_factory=dict, compare=False, repr=False)

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


# ------------------------------------------------------------------------------------------
# The estate's static structure


@dataclass
class _Estate:
    topology: Topology
    candidates: tuple[str, ...]  # up DPM servers, by name
    already_down: tuple[str, ...]
    comp: dict[str, frozenset[str]]
    touch: dict[str, frozenset[str]]
    irrelevant: frozenset[str]
    base: dict[str, int]  # data sources each DPM server holds as primary or secondary


def _estate(topology: Topology) -> _Estate:
    dpms = topology.dpm_servers
    candidates = tuple(sorted((n for n, d in dpms.items() if d.up), key=canon))
    down = tuple(sorted((n for n, d in dpms.items() if not d.up), key=canon))
    g = protection_graph(topology).to_undirected(as_view=True)
    comp: dict[str, frozenset[str]] = {}
    for c in nx.connected_components(g):
        fc = frozenset(c)
        for n in c:
            comp[n] = fc
    touch: dict[str, set[str]] = {n: set() for n in dpms}
    relevant: set[str] = {n for n, d in dpms.items() if d.protects}
    base = dict.fromkeys(dpms, 0)
    for server in topology.servers.values():
        for a in server.agents:
            if a in touch:
                touch[a].add(server.name)
        for ds in server.datasources:
            for d in (ds.primary, ds.secondary, ds.switched_from):
                if d in touch:
                    touch[d].add(server.name)
            if ds.primary is not None:
                relevant.add(ds.primary)
                base[ds.primary] += 1
            if ds.secondary is not None:
                relevant.add(ds.secondary)
                if ds.secondary != ds.primary:
                    base[ds.secondary] += 1
    return _Estate(
        topology=topology,
        candidates=candidates,
        already_down=down,
        comp=comp,
        touch={n: frozenset(s) for n, s in touch.items()},
        irrelevant=frozenset(n for n in candidates if n not in relevant),
        base=base,
    )


def _key(failed: Sequence[str]) -> tuple:
    return (len(failed), [canon(n) for n in failed])


# ------------------------------------------------------------------------------------------
# Solving one set (in this process or in a worker)


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


def _changed(topology: Topology, final: Topology) -> list[str]:
    """The protected servers a plan changed (apply_actions keeps the others' objects)."""
    return [n for n, s in final.servers.items() if topology.servers.get(n) is not s]


def _load_change(topology: Topology, final: Topology) -> dict[str, int]:
    changed = _changed(topology, final)
    before = _held(topology.servers[n] for n in changed if n in topology.servers)
    after = _held(final.servers[n] for n in changed)
    delta = {d: after.get(d, 0) - before.get(d, 0) for d in {*before, *after}}
    return {d: k for d, k in delta.items() if k}


def solve_set(
    topology: Topology,
    failed: Sequence[str],
    timeout: float | None,
    known: KnownErrors | None = None,
) -> FailureSet:
    """The best plan for one failure set, by `synthesize(..., top=1)` (which runs Z3 in a fresh
    context: a set's answer does not depend on which process solved which sets before it)."""
    failed = tuple(sorted(failed, key=canon))
    try:
        # synthesize limits its optimizer itself, but not the enumeration of equally good
        # plans, which could otherwise run on without end: `timeout` bounds every Z3 check
        with fresh_z3(timeout):
            suggestion = synthesize(
                topology, failed=list(failed), top=1, timeout=timeout, known=known
            )
    except SolverGaveUp as e:
        return FailureSet(
            failed=failed, complete=False, optimal=False, cost=None, gave_up=str(e) or "unknown"
        )
    if not suggestion.plans:
        return FailureSet(failed=failed, complete=False, optimal=suggestion.optimal, cost=None)
    plan = suggestion.plans[0]
    final = plan.final_state
    delta = _load_change(topology, final) if final is not None else {}
    footprint = set(failed)
    for a in plan.actions:
        ends = (
            (a.dpm, a.from_)
            if a.action in ("move", "reassign-secondary")
            else (a.dpm, a.from_, a.to)
        )
        footprint.update(x for x in ends if x is not None)
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
        delta=delta,
        footprint=frozenset(footprint),
        alternatives=dict(plan.alternatives),
    )


_WORKER: dict = {}


def _init_worker(payload: bytes) -> None:
    _WORKER["topology"] = pickle.loads(payload)
    _WORKER["known"] = KnownErrors()


def _solve_in_worker(failed: tuple[str, ...], timeout: float | None) -> FailureSet:
    return solve_set(_WORKER["topology"], failed, timeout, _WORKER.get("known"))


# ------------------------------------------------------------------------------------------
# Deriving a set from its parts


def _empty(estate: _Estate, failed: tuple[str, ...]) -> FailureSet:
    """The plan of irrelevant servers failing: nothing to do."""
    cost = dict.fromkeys(CRITERIA, 0)
    cost["max_load"] = max(estate.base.values(), default=0)
    return FailureSet(
        failed=failed,
        complete=True,
        optimal=True,
        cost=cost,
        derived=True,
        footprint=frozenset(failed),
    )


def _parts(estate: _Estate, failed: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The connected pieces of the static interaction relation among the failed servers."""
    g = nx.Graph()
    g.add_nodes_from(failed)
    for a, b in itertools.combinations(failed, 2):
        if estate.comp[a] == estate.comp[b] or estate.touch[a] & estate.touch[b]:
            g.add_edge(a, b)
    parts = [tuple(sorted(c, key=canon)) for c in nx.connected_components(g)]
    return sorted(parts, key=_key)


def _one_part(estate: _Estate, failed: tuple[str, ...]) -> bool:
    """Whether the failed servers all interact statically (such a set is always solved)."""
    if len(failed) == 2:
        a, b = failed
        return estate.comp[a] == estate.comp[b] or bool(estate.touch[a] & estate.touch[b])
    return len(_parts(estate, failed)) == 1


def _reach(estate: _Estate, dpms: Iterable[str]) -> frozenset[str]:
    """The components of the named DPM servers (a new server's is nothing of the estate)."""
    out: set[str] = set()
    for d in dpms:
        out |= estate.comp.get(d, frozenset())
    return frozenset(out)


def _new_name(estate: _Estate, failed: Sequence[str], p: str) -> str:
    """The name a joint solve gives p's new DPM server (synth: one per failed server)."""
    return failover_server_name(estate.topology.dpm_servers, {*failed, *estate.already_down}, p)


def _rename(r: FailureSet, estate: _Estate, failed: Sequence[str]):
    """The part's actions and load changes with its new servers named as in the joint set."""
    mapping = {
        a.to: _new_name(estate, failed, a.from_)
        for a in r.actions
        if a.action == "new-dpm" and a.to is not None and a.from_ is not None
    }
    if not mapping:
        return r.immediate, r.final, r.delta

    def act(a: Action) -> Action:
        return renamed(a, mapping)

    delta = {mapping.get(d, d): v for d, v in r.delta.items()}
    return tuple(map(act, r.immediate)), tuple(map(act, r.final)), delta


def _union(estate: _Estate, failed: tuple[str, ...], parts: list[FailureSet]) -> FailureSet:
    immediate: list[Action] = []
    rebuilds: list[Action] = []
    backs: list[Action] = []
    delta: dict[str, int] = {}
    for r in parts:
        imm, fin, d = _rename(r, estate, failed)
        immediate.extend(imm)
        rebuilds.extend(a for a in fin if a.action == "rebuild")
        backs.extend(a for a in fin if a.action != "rebuild")
        for k, v in d.items():
            delta[k] = delta.get(k, 0) + v
    rebuilds.sort(key=lambda a: canon(a.dpm or ""))
    backs.sort(key=lambda a: canon(a.to or ""))  # stable: each part keeps its group order
    cost = {c: sum(r.cost[c] for r in parts) for c in CRITERIA if c != "max_load"}
    loads = dict(estate.base)
    for k, v in delta.items():
        loads[k] = loads.get(k, 0) + v
    cost["max_load"] = max(loads.values(), default=0)
    return FailureSet(
        failed=failed,
        complete=all(r.complete for r in parts),
        optimal=all(r.optimal for r in parts),
        cost={c: cost[c] for c in CRITERIA},
        immediate=tuple(run_order(immediate)),
        final=tuple(rebuilds + backs),
        loses_history=_merge(r.loses_history for r in parts),
        loses_secondary=_merge(r.loses_secondary for r in parts),
        unprotected=_merge(r.unprotected for r in parts),
        derived=True,
        delta={k: v for k, v in delta.items() if v},
        footprint=frozenset().union(*(r.footprint for r in parts)),
    )


def _merge(lists: Iterable[Sequence[str]]) -> tuple[str, ...]:
    # str.casefold is `canon` without a Python call per name (thousands per derived set)
    return tuple(sorted({x for xs in lists for x in xs}, key=str.casefold))


def _derive(
    estate: _Estate,
    failed: tuple[str, ...],
    done: dict[tuple[str, ...], FailureSet],
    reaches: dict[tuple[str, ...], frozenset[str]],
) -> FailureSet | None:
    """The set's answer from smaller sets' answers, or None when it must be solved."""
    if estate.already_down:
        return None
    if len(failed) == 1:
        return _empty(estate, failed) if failed[0] in estate.irrelevant else None
    parts = _parts(estate, failed)
    if len(parts) == 1:
        return None
    results = [done.get(p) for p in parts]
    if any(r is None or r.cost is None for r in results):
        return None
    cores = []
    for p, r in zip(parts, results, strict=True):
        if p not in reaches:
            reaches[p] = _reach(estate, r.footprint)
        cores.append(reaches[p])
    if sum(map(len, cores)) != len(frozenset().union(*cores)):
        return None
    loads = dict(estate.base)
    for r in results:
        for d, k in r.delta.items():
            loads[d] = loads.get(d, 0) + k
    # new secondaries first (they extend a part's reach), then moves out of the other reaches
    reach = list(cores)
    for i, r in enumerate(results):
        others = frozenset().union(*(x for j, x in enumerate(reach) if j != i))
        r = _reassign_out_of(estate, r, others, loads)
        if r is None:
            return None
        results[i] = r
        reach[i] = cores[i] | _reach(estate, [a.to for a in r.immediate if _is_reassign(a)])
    moved = []
    for i, r in enumerate(results):
        others = frozenset().union(*(x for j, x in enumerate(reach) if j != i))
        r = _move_out_of(estate, r, others, loads)
        if r is None:
            return None
        moved.append(r)
    return _union(estate, failed, moved)


def _is_reassign(a: Action) -> bool:
    return a.action == "reassign-secondary" and a.to is not None


def _least_loaded(candidates: Iterable[str], held: Callable[[str], dict], loads: dict) -> str:
    """The candidate whose load changes leave the least peak, then the first by name."""
    return min(
        candidates,
        key=lambda m: (max(loads.get(d, 0) + k for d, k in held(m).items()), canon(m)),
    )


def _shift(loads: dict, delta: dict, held: dict, sign: int) -> None:
    for d, k in held.items():
        if d is not None and k:
            loads[d] = loads.get(d, 0) + sign * k
            delta[d] = delta.get(d, 0) + sign * k


def _reassign_out_of(
    estate: _Estate, r: FailureSet, others: frozenset[str], loads: dict[str, int]
) -> FailureSet | None:
    """The part's plan with every new secondary whose component meets another part's reach
    replaced by another of its legal candidates whose component does not (the least peak of
    `loads`, then by name; `loads` follows), or None when none is left. Such a candidate's
    rule instances read only the part's own components, as in the part's own failure, and a
    new secondary costs the same wherever it is."""
    if not any(_is_reassign(a) and a.to in others for a in r.immediate):
        return r
    delta = dict(r.delta)
    immediate = []
    for a in r.immediate:
        if not _is_reassign(a) or a.to not in others:
            immediate.append(a)
            continue
        choice = r.alternatives.get(("reassign-secondary", a.dpm), SecondaryChoice((), 0))
        targets, nsec = choice.targets, choice.holds
        free = [t for t in targets if t not in others]  # `others` is whole components
        if not free:
            return None
        _shift(loads, delta, {a.to: nsec}, -1)
        t = _least_loaded(free, lambda t, n=nsec: {t: n}, loads)
        _shift(loads, delta, {t: nsec}, +1)
        immediate.append(reassign_action(a.dpm, a.from_, t))
    return replace(r, immediate=tuple(immediate), delta={d: k for d, k in delta.items() if k})


def _move_out_of(
    estate: _Estate, r: FailureSet, others: frozenset[str], loads: dict[str, int]
) -> FailureSet | None:
    """The part's plan with every move into another part's reach put on a member of the same
    move class outside it (the least peak of `loads`, then by name; `loads` follows), or None
    when a class has no such member. A member outside the other reaches has the same facts in
    the joint failure as in the part's own, so the same rule instances hold and costs match."""
    if not any(a.action == "move" and a.to in others for a in r.immediate):
        return r
    protectors = estate.topology.protectors

    def protector(m: str) -> str | None:
        return protectors[m][0] if protectors.get(m) else None

    def held(m: str, k_target: int, k_protector: int) -> dict:
        return {m: k_target, protector(m): k_protector} if protector(m) else {m: k_target}

    delta = dict(r.delta)
    immediate = []
    for a in r.immediate:
        if a.action != "move" or a.to not in others:
            immediate.append(a)
            continue
        alternative = r.alternatives.get(a.server)
        free = [m for m in alternative.members if m not in others] if alternative else []
        if not free:
            return None
        k_target, k_protector = alternative.target_holds, alternative.protector_holds
        secondary = alternative.secondary
        _shift(loads, delta, held(a.to, k_target, k_protector), -1)
        m = _least_loaded(free, lambda m, t=k_target, p=k_protector: held(m, t, p), loads)
        _shift(loads, delta, held(m, k_target, k_protector), +1)
        up = protector(m) if protector(m) not in r.failed else None
        immediate.append(
            move_action(a.server, a.from_, m, a.datasources, a.protection_groups, secondary, up)
        )
    return replace(r, immediate=tuple(immediate), delta={d: k for d, k in delta.items() if k})


# ------------------------------------------------------------------------------------------
# The whole analysis


Progress = Callable[[int, int], None]


def resilience(
    topology: Topology,
    *,
    failures: int = 1,
    jobs: int | None = None,
    timeout: float | None = 60.0,
    progress: Progress | None = None,
    decompose: bool = True,
) -> Resilience:
    """Answer every failure set of at most `failures` up DPM servers (module docstring).

    `jobs`: worker processes for the sets that need a solver (default: chosen from the work,
    `dpmsmt.workload`: this process, until the sets left are worth a pool of all CPUs; 1 solves
    in this process). `progress(done, total)` is called as sets are answered. `decompose=False`
    solves every set (for tests and comparisons).
    """
    if failures < 1:
        raise ValueError("failures: at least 1")
    estate = _estate(topology)
    known = KnownErrors()  # the errors of the estate before every failure: checked once
    auto = jobs is None  # solve here until the work left is worth a pool (dpmsmt.workload)
    workload = Workload()
    jobs = max(1, jobs if jobs is not None else cpus())
    sizes = range(1, min(failures, len(estate.candidates)) + 1)
    total = sum(_comb(len(estate.candidates), k) for k in sizes)
    done: dict[tuple[str, ...], FailureSet] = {}
    reaches: dict[tuple[str, ...], frozenset[str]] = {}
    rounds: list[Round] = []
    tick = progress or (lambda _d, _t: None)
    tick(0, total)
    pool = None
    # sets of the next size that need a solver whatever the smaller sets' answers are, queued
    # behind the current round's sets so that the workers do not wait between rounds
    early: dict[tuple[str, ...], Future] = {}
    try:
        for k in sizes:
            start = time.perf_counter()
            pending: list[tuple[str, ...]] = []
            n_sets = n_derived = 0
            for failed in itertools.combinations(estate.candidates, k):
                n_sets += 1
                r = None
                if failed not in early and decompose:
                    r = _derive(estate, failed, done, reaches)
                if r is None:
                    pending.append(failed)
                else:
                    done[failed] = r
                    n_derived += 1
            tick(len(done), total)
            following = []
            if k + 1 in sizes and jobs > 1:
                following = [
                    f
                    for f in itertools.combinations(estate.candidates, k + 1)
                    if not decompose or estate.already_down or _one_part(estate, f)
                ]
            todo = list(pending)
            if auto and pool is None:  # solved here while the sets left are not worth a pool
                while todo and not workload.worth_a_pool(len(todo), jobs):
                    failed, clock = todo.pop(0), time.perf_counter()
                    done[failed] = solve_set(topology, failed, timeout, known)
                    workload.record(time.perf_counter() - clock)
                    tick(len(done), total)
                following = following if todo else []
            if jobs == 1 or (len(todo) <= 1 and not early and not following):
                for failed in todo:
                    done[failed] = solve_set(topology, failed, timeout, known)
                    tick(len(done), total)
            else:
                if pool is None:
                    pool = _pool(topology, jobs)
                futures = {
                    early.pop(f, None) or pool.submit(_solve_in_worker, f, timeout): f for f in todo
                }
                for f in following:
                    early[f] = pool.submit(_solve_in_worker, f, timeout)
                for fut in as_completed(futures):
                    done[futures[fut]] = fut.result()
                    tick(len(done), total)
            rounds.append(Round(k, n_sets, len(pending), n_derived, time.perf_counter() - start))
    except BaseException:  # interrupted: do not wait for the sets being solved
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        raise
    if pool is not None:
        pool.shutdown()
    sets = tuple(done[f] for f in sorted(done, key=_key))
    return Resilience(
        file=topology.file,
        failures=failures,
        sets=sets,
        weakest=_weakest(sets),
        never_safe=_never_safe(topology, sets),
        single_points_of_failure=tuple(
            s.failed[0] for s in sets if len(s.failed) == 1 and s.unprotected
        ),
        solved=sum(r.solved for r in rounds),
        derived=sum(r.derived for r in rounds),
        already_down=estate.already_down,
        rounds=tuple(rounds),
    )


def _comb(n: int, k: int) -> int:
    from math import comb

    return comb(n, k)


def _pool(topology: Topology, jobs: int):
    """Worker processes (spawned: no fork of a process that has threads), each with a copy of
    the topology (without its position index, which does not pickle and no plan needs)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    payload = pickle.dumps(replace(topology, locate=None), protocol=pickle.HIGHEST_PROTOCOL)
    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        initargs=(payload,),
    )


def _weakest(sets: Sequence[FailureSet]) -> tuple[tuple[str, dict], ...]:
    singles = [s for s in sets if len(s.failed) == 1 and s.cost is not None]
    ranked = sorted(
        singles,
        key=lambda s: (tuple(-s.cost[c] for c in CRITERIA), canon(s.failed[0])),
    )
    return tuple((s.failed[0], s.cost) for s in ranked[:WEAKEST])


def _never_safe(topology: Topology, sets: Sequence[FailureSet]) -> tuple[str, ...]:
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
