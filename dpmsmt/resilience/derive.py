"""A failure set's answer from its independent parts' answers, without a solver.

The **core** of a part's plan is the part itself and every DPM server its switches, switch-backs
and rebuilds name, and the DPM servers that get a new secondary; its **reach** is the union of
the components of the core and of the new secondaries. Move targets are not in the reach: a move
changes no component, and the facts of its target only by load.

When the cores are pairwise disjoint and every part has a plan, the parts' plans are made to keep
out of each other's reach: a new secondary whose component meets another part's reach is
replaced by another legal candidate of the part's plan (`Plan.alternatives`) outside it, and
then a move whose target lies in another part's reach is put on another member of the same move
class outside it (the least peak of the union's loads, then by name). Such a member or candidate
has the same facts in the joint failure as in the part's own, so the same rule instances hold
and the costs are the same. Where no such choice exists, the set is solved.

Otherwise the set's plan is the union of the parts' plans (actions merged in the order
suggest-move uses; `NEW-DPM-k` renumbered as a joint solve numbers them); costs combine as the
package docstring says.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from dpmsmt.actions import Action
from dpmsmt.model import canon
from dpmsmt.plan import MoveClass, SecondaryChoice, failover_server_name
from dpmsmt.recovery import CRITERIA
from dpmsmt.resilience.cache import Answers
from dpmsmt.resilience.decompose import Estate
from dpmsmt.resilience.result import FailureSet
from dpmsmt.steps import move_action, reassign_action, renamed, run_order

__all__ = ["derive", "empty", "union"]


def derive(answers: Answers, failed: tuple[str, ...]) -> FailureSet | None:
    """The set's answer from smaller sets' answers, or None when it must be solved."""
    estate = answers.estate
    if estate.already_down:
        return None
    if len(failed) == 1:
        return empty(estate, failed) if failed[0] in estate.irrelevant else None
    parts = estate.parts(failed)
    if len(parts) == 1:
        return None
    results = [answers.get(p) for p in parts]
    if any(r is None or r.cost is None for r in results):
        return None
    cores = [answers.reach(p) for p in parts]
    if sum(map(len, cores)) != len(frozenset().union(*cores)):
        return None
    apart = _apart(estate, results, cores)
    return None if apart is None else union(estate, failed, apart)


def empty(estate: Estate, failed: tuple[str, ...]) -> FailureSet:
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


def _apart(
    estate: Estate, results: list[FailureSet], cores: list[frozenset[str]]
) -> list[FailureSet] | None:
    """The parts' plans out of each other's reach: new secondaries first (they extend a part's
    reach), then moves; None when some choice has no member outside."""
    loads = dict(estate.base)
    for r in results:
        for d, k in r.delta.items():
            loads[d] = loads.get(d, 0) + k
    results = list(results)
    reach = list(cores)
    for i, r in enumerate(results):
        r = _reassign_out_of(r, _others(reach, i), loads)
        if r is None:
            return None
        results[i] = r
        reach[i] = cores[i] | estate.reach([a.to for a in r.immediate if _is_reassign(a)])
    moved = []
    for i, r in enumerate(results):
        r = _move_out_of(estate, r, _others(reach, i), loads)
        if r is None:
            return None
        moved.append(r)
    return moved


def _others(reach: list[frozenset[str]], i: int) -> frozenset[str]:
    return frozenset().union(*(x for j, x in enumerate(reach) if j != i))


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
    r: FailureSet, others: frozenset[str], loads: dict[str, int]
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
        nsec = choice.holds
        free = [t for t in choice.targets if t not in others]  # `others` is whole components
        if not free:
            return None
        _shift(loads, delta, {a.to: nsec}, -1)
        t = _least_loaded(free, lambda t, n=nsec: {t: n}, loads)
        _shift(loads, delta, {t: nsec}, +1)
        immediate.append(reassign_action(a.dpm, a.from_, t))
    return replace(r, immediate=tuple(immediate), delta={d: k for d, k in delta.items() if k})


def _move_out_of(
    estate: Estate, r: FailureSet, others: frozenset[str], loads: dict[str, int]
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
        moves: MoveClass | None = r.alternatives.get(a.server)
        free = [m for m in moves.members if m not in others] if moves else []
        if not free:
            return None
        k_target, k_protector = moves.target_holds, moves.protector_holds
        _shift(loads, delta, held(a.to, k_target, k_protector), -1)
        m = _least_loaded(free, lambda m, t=k_target, p=k_protector: held(m, t, p), loads)
        _shift(loads, delta, held(m, k_target, k_protector), +1)
        up = protector(m) if protector(m) not in r.failed else None
        immediate.append(
            move_action(
                a.server, a.from_, m, a.datasources, a.protection_groups, moves.secondary, up
            )
        )
    return replace(r, immediate=tuple(immediate), delta={d: k for d, k in delta.items() if k})


# ------------------------------------------------------------------------------------------
# The union of the parts' plans


def _rename(r: FailureSet, estate: Estate, failed: Sequence[str]):
    """The part's actions and load changes with its new servers named as a joint solve names
    them (recovery: one per failed server, by its place among the down servers)."""
    down = {*failed, *estate.already_down}
    mapping = {
        a.to: failover_server_name(estate.topology.dpm_servers, down, a.from_)
        for a in r.actions
        if a.action == "new-dpm" and a.to is not None and a.from_ is not None
    }
    if not mapping:
        return r.immediate, r.final, r.delta
    delta = {mapping.get(d, d): v for d, v in r.delta.items()}
    immediate = tuple(renamed(a, mapping) for a in r.immediate)
    return immediate, tuple(renamed(a, mapping) for a in r.final), delta


def union(estate: Estate, failed: tuple[str, ...], parts: list[FailureSet]) -> FailureSet:
    """The joint answer of independent parts kept out of each other's reach (derived)."""
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
    return FailureSet(
        failed=failed,
        complete=all(r.complete for r in parts),
        optimal=all(r.optimal for r in parts),
        cost=_union_cost(estate, parts, delta),
        immediate=tuple(run_order(immediate)),
        final=tuple(rebuilds + backs),
        loses_history=_merge(r.loses_history for r in parts),
        loses_secondary=_merge(r.loses_secondary for r in parts),
        unprotected=_merge(r.unprotected for r in parts),
        derived=True,
        delta={k: v for k, v in delta.items() if v},
        footprint=frozenset().union(*(r.footprint for r in parts)),
    )


def _union_cost(estate: Estate, parts: list[FailureSet], delta: dict[str, int]) -> dict:
    """The parts' costs added; `max_load` the largest load of the union's final state."""
    cost = {c: sum(r.cost[c] for r in parts) for c in CRITERIA if c != "max_load"}
    loads = dict(estate.base)
    for k, v in delta.items():
        loads[k] = loads.get(k, 0) + v
    cost["max_load"] = max(loads.values(), default=0)
    return {c: cost[c] for c in CRITERIA}


def _merge(lists: Iterable[Sequence[str]]) -> tuple[str, ...]:
    # str.casefold is `canon` without a Python call per name (thousands per derived set)
    return tuple(sorted({x for xs in lists for x in xs}, key=str.casefold))
