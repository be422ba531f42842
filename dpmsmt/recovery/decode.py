"""From a model to a `Plan`: which servers take which option, the placement of moves on the
members of their classes (least largest load), and the actions with their DPM steps."""

from __future__ import annotations

from dpmsmt.actions import Action
from dpmsmt.encode import model_values
from dpmsmt.model import canon
from dpmsmt.optimize.placement import greedy, least_peak
from dpmsmt.plan import MoveClass, Plan, SecondaryChoice
from dpmsmt.recovery.encoding import CRITERIA, REPOINTING, Variables, bundles
from dpmsmt.recovery.options import Option, Options
from dpmsmt.steps import (
    move_action,
    reassign_action,
    rebuild_action,
    run_order,
    switch_action,
    switch_back_action,
)

__all__ = ["Decoder"]


class Decoder:
    """Turns the models of one problem into plans (without states: `Verifier.complete`)."""

    def __init__(self, problem):
        self.failure = problem.failure
        self.state = problem.state
        self.groups = problem.groups
        self.options = problem.options
        self.secondaries = problem.secondaries
        self.base_loads = problem.base_loads

    def plan(self, model, variables, costs, floor_only: bool = False) -> Plan | None:
        values = model_values(model)

        def val(x) -> int:
            return values.get(x.decl().name(), 0)

        immediate: list[Action] = []
        final: list[Action] = []
        rebuild_now = [p for p, v in variables.rb_now.items() if val(v)]
        rebuild_final = [p for p, v in variables.rb_final.items() if val(v)]
        for p in sorted(rebuild_now, key=canon):
            immediate.append(self._rebuild(p))
        chosen = self._chosen(variables, val)
        loads = None
        alternatives: dict = {}
        reassigned = {y: t for (y, t), v in variables.reassign.items() if val(v)}
        if not variables.expand:
            placement = self._place(chosen, variables.rows, reassigned, variables, floor_only)
            if placement is None:
                return None
            chosen, loads, reassigned, alternatives = placement
        unprotected = self._server_actions(chosen, immediate, final)
        for y, t in reassigned.items():
            old = self.state.protectors[y]
            immediate.append(reassign_action(y, old[0] if old else None, t))
        if rebuild_final:
            final = [self._rebuild(p) for p in sorted(rebuild_final, key=canon)] + final
        immediate = run_order(immediate)
        cost = {c: model.eval(costs[c], model_completion=True).as_long() for c in CRITERIA}
        if loads is not None:
            cost["max_load"] = max(loads.values(), default=0)
        return Plan(
            rank=0,
            complete=not unprotected,
            cost=cost,
            immediate=tuple(immediate),
            final=tuple(final),
            keeps={},
            loses={},
            unprotected=tuple(sorted(unprotected, key=canon)),
            alternatives=alternatives,
        )

    def _chosen(self, variables: Variables, val) -> list[tuple[int, Option, str]]:
        """(group index, option, server) per server: each group's servers in name order take
        its options in their order; where the servers are in several groups, those that change
        the agent first (see `Encoding._repointed_terms`)."""
        chosen: list[tuple[int, Option, str]] = []
        shared = {gi for gis in bundles(self.groups) if len(gis) > 1 for gi in gis}

        def order(gi: int, opt: Option) -> tuple:
            return (gi in shared and opt.kind not in REPOINTING, *opt.key())

        for gi, g in enumerate(self.groups):
            servers = iter(sorted(g.servers, key=canon))
            for opt, c in sorted(variables.by_group[gi], key=lambda oc: order(gi, oc[0])):
                chosen.extend((gi, opt, next(servers)) for _ in range(val(c)))
        return chosen

    def _server_actions(self, chosen, immediate: list, final: list) -> list[str]:
        """The actions of the servers' chosen options; returns the data sources left
        unprotected."""
        unprotected: list[str] = []
        for gi, opt, name in chosen:
            g = self.groups[gi]
            server = self.state.servers[name]
            on_p = [ds for ds in server.datasources if ds.primary == g.p]
            ids = tuple(ds.id for ds in on_p)
            pgs = tuple(sorted({ds.protection_group for ds in on_p if ds.protection_group}))
            if opt.kind == "none":
                unprotected.extend(ids)
            elif opt.kind == "switch":
                immediate.append(switch_action(name, g.p, opt.target, ids, pgs))
            elif opt.kind == "switch-back":
                immediate.append(switch_action(name, g.p, opt.target, ids, pgs))
                final.append(switch_back_action(name, opt.target, g.p, ids, pgs))
            elif opt.kind == "rebuild":
                pass  # the rebuild of p re-protects it
            elif opt.kind == "move":
                immediate.append(self._move(name, g.p, opt.target, ids, pgs, g.secondary))
            elif opt.kind == "new-dpm":
                immediate.append(self._move(name, g.p, opt.target, ids, pgs, g.secondary, new=True))
        return unprotected

    def _place(self, chosen, rows, reassigned, variables, floor_only: bool = False):
        """Without `expand`: put each server that moves to a class on a member of it, and give
        each DPM server that gets a new secondary one of its legal candidates.

        Every choice (new secondaries by DPM server, the largest loads, then moves by server)
        takes the first target by name that keeps every load within a bound: the largest load
        the plan has without them where that suffices, else the least largest load over all
        placements (`least_peak`). Returns the choices with members as targets, the final
        loads, the new secondaries and, per moved server, its class (`Plan.alternatives`)."""
        loads = dict(self.base_loads)
        items: list[tuple[tuple, list[tuple[str, dict[str, int]]]]] = []
        alternatives: dict = {}
        for gi, opt, name in sorted(chosen, key=lambda c: canon(c[2])):
            if opt.kind == "move":
                g, imm = self.groups[gi], rows[(gi, opt)][0]
                members = sorted(g.classes[opt.target], key=canon)
                held = [(m, _Held(self.options, g, imm, opt.target, m)) for m in members]
                items.append(((1, canon(name), gi, name), held))
                rep_held = dict(held[members.index(opt.target)][1].items())
                alternatives[name] = MoveClass(
                    members=tuple(members),
                    target_holds=rep_held.get(opt.target, 0),
                    protector_holds=sum(k for d, k in rep_held.items() if d != opt.target),
                    secondary=g.secondary,
                )
            elif opt.kind != "none":
                imm, fin = rows[(gi, opt)]
                for d, k in self.options.held(
                    self.groups[gi], fin if fin is not None else imm
                ).items():
                    loads[d] = loads.get(d, 0) + k
        for y in sorted(reassigned, key=canon):
            nsec = self.secondaries.reassigned_count(y)
            targets = variables.reassign_targets[y]
            items.append(((0, canon(y), 0, y), [(t, {t: nsec}) for t in targets]))
            alternatives[("reassign-secondary", y)] = SecondaryChoice(tuple(targets), nsec)
        items.sort(key=lambda item: item[0])  # new secondaries (the largest loads) first
        placed = greedy(items, loads, max(loads.values(), default=0))
        if placed is None and floor_only:
            return None
        if placed is None:
            peak, fallback = least_peak(items, loads)
            placed = greedy(items, loads, peak) or fallback
        for key, candidates in items:
            for d, k in dict(candidates)[placed[key]].items():
                loads[d] = loads.get(d, 0) + k
        moved = {key[2:]: Option("move", t) for key, t in placed.items() if key[0] == 1}
        out = [(gi, moved.get((gi, name), opt), name) for gi, opt, name in chosen]
        return out, loads, {key[3]: t for key, t in placed.items() if key[0] == 0}, alternatives

    def _rebuild(self, p) -> Action:
        """Rebuild p: from its database backup unless the database survived, and its replicas
        from its protectors (or tape) where its storage was lost."""
        d = self.state.dpm_servers[p]
        failure = d.failure
        restore_from = None
        if not (failure and failure.database == "intact"):
            backup = self.failure.before.db_backup(p)
            source = {
                "secondary": f"its secondary {', '.join(self.state.protectors[p]) or ''}".strip()
            }.get(backup, backup)
            restore_from = source
        reallocate_from = None
        if failure and failure.storage == "lost":
            reallocate_from = ", ".join(self.state.protectors[p]) or "tape"
        return rebuild_action(p, d.version, restore_from, reallocate_from)

    def _move(self, server, p, n, ids, pgs, s, *, new=False) -> Action:
        state = self.state
        protectors = [x for x in state.protectors.get(n, ()) if state.dpm_servers[x].up]
        version = state.dpm_servers[p].version if new else None
        return move_action(
            server, p, n, ids, pgs, s, protectors[0] if protectors else None, version
        )


class _Held:
    """What a member m of a move class and its protector would hold of a moved server's data
    sources, as a mapping; computed when first read (a class may have hundreds of members)."""

    def __init__(self, options: Options, g, imm, rep, m):
        self.args = (options, g, imm, rep, m)
        self._value: dict[str, int] | None = None

    def items(self):
        if self._value is None:
            options, g, imm, rep, m = self.args
            key = (id(g), rep)
            held = options.rep_held.get(key)
            if held is None:
                held = options.rep_held[key] = options.held(g, imm)
            # a member holds what the representative holds; its protector, what rep's held
            protector = options.state.protectors[m]
            self._value = {(m if d == rep else protector[0]): k for d, k in held.items()}
        return self._value.items()
