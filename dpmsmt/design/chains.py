"""Chain length: bounds on the longest new chain, as Z3 terms, and a lower bound by matching.

A chain starts at a DPM server and follows its unique secondary upwards while the server has
exactly one and the path does not return to a server already on it (as `graph.chains`); its
length is the number of servers on it. A chain is new when it uses an edge the design adds (a
chain that stops at y because y's new secondary is already on it does not: it is as long as
before). "Every new chain has at most b servers" is a Boolean encoding (`le[y][j]`: the chain
from y has at most j), exact, and unsatisfiable around a cycle of three or more; a matching
(Edmonds) gives a lower bound first, because proving "no chains of two" with the solver alone
is a pigeonhole-like search. With `allow_cycles`, one Boolean and one Int per (start, server)
say whether and where the server is on the chain: exact with cycles of any length, but
quadratic in size and slow beyond a few dozen servers.
"""

from __future__ import annotations

import networkx as nx
import z3

from dpmsmt.design.candidates import Candidates
from dpmsmt.design.problem import all_of, any_of
from dpmsmt.model import canon

__all__ = ["Chains"]


class Chains:
    """The fixed part of the graph (walks from servers that get no new secondary) and the chain
    terms over the choice variables `var[(y, t)]` and `covered[y]`."""

    def __init__(self, cands: Candidates, var: dict, covered: dict):
        self.c = cands
        self.var = var
        self.covered = covered
        self.open = set(cands.open)
        starts = [x for x in cands.cand_base.dpm_servers if x not in self.open]
        self.walks = {x: self._walk(x) for x in starts}
        self.via = sorted((x for x, w in self.walks.items() if w[0] == "via"), key=canon)
        self._bounds: dict[int, z3.BoolRef] = {}

    def _walk(self, x: str) -> tuple:
        """The chain from a server that gets no new secondary, up to the first server that may:
        ("const", length) when it ends before one, ("via", k, entry, y) when it reaches y after
        k servers (the last of them, `entry`, is protected by y)."""
        path = [x]
        while True:
            cur = path[-1]
            if cur in self.open and cur != x:
                return ("via", len(path) - 1, path[-2], cur)
            ups = self.c.protectors[cur]
            if len(ups) != 1 or ups[0] in path:
                return ("const", len(path))
            path.append(ups[0])

    def reach_open(self, t: str) -> set[str]:
        """Servers that may get a new secondary, reachable from t upwards over fixed edges."""
        if t in self.open:
            return {t}
        out, seen, todo = set(), {t}, [t]
        while todo:
            cur = todo.pop()
            for p in self.c.protectors[cur]:
                if p in seen:
                    continue
                seen.add(p)
                if p in self.open:
                    out.add(p)
                else:
                    todo.append(p)
        return out

    # -- every new chain has at most b servers ---------------------------------------------------
    def bound(self, b: int) -> z3.BoolRef:
        """Made once per b: the search asserts the same bound again after each design."""
        if b not in self._bounds:
            self._bounds[b] = self._bound(b)
        return self._bounds[b]

    def _bound(self, b: int) -> z3.BoolRef:
        """`le[y][j]` (the chain from y has at most j) follows y's choice downwards,
        `le[y][j] ∧ choose[y][t] → le[t][j - 1]`, down to a server with no secondary or a
        2-cycle (2). Around a cycle of three or more the implications never end, so such cycles
        have no solution, as CYCLE-TWO-ONLY asks."""
        if b < 2:  # a new chain has two servers at least: no server gets a secondary
            return all_of(z3.Not(self.covered[y]) for y in self.c.open)
        le = {
            (y, j): z3.Bool(f"le!{b}!{i}!{j}")
            for i, y in enumerate(self.c.open)
            for j in range(1, b + 1)
        }
        out: list[z3.BoolRef] = []
        for y in self.c.open:
            for c in self.c.legal[y]:
                out += self._step(le, b, y, c)
        for y in self.c.open:  # the new chains: from y, and from the servers below it
            out.append(z3.Implies(self.covered[y], le[(y, b)]))
        for x in self.via:
            _, _, entry, y2 = self.walks[x]
            back = self.var.get((y2, entry))
            new = self.covered[y2] if back is None else z3.And(self.covered[y2], z3.Not(back))
            out.append(z3.Implies(new, self._at_most(le, x, b)))
        return all_of(out)

    def _at_most(self, le: dict, x: str, j: int) -> z3.BoolRef:
        """The chain from x (if it gets no new secondary itself) has at most j servers."""
        if j < 1:
            return z3.BoolVal(False)
        if x in self.open:
            return le[(x, j)]
        w = self.walks[x]
        if w[0] == "const":
            return z3.BoolVal(w[1] <= j)
        _, k, entry, y2 = w
        back = self.var.get((y2, entry))  # y2 <-> entry: the chain stops at y2
        ahead = self._at_most(le, y2, j - k)
        return ahead if back is None else z3.If(back, z3.BoolVal(k + 1 <= j), ahead)

    def _step(self, le: dict, b: int, y: str, c) -> list[z3.BoolRef]:
        """What choosing c says about the chain from y."""
        if c.slot is None and c.t not in self.open:
            w = self.walks[c.t]
            if w[0] == "via" and w[3] == y and w[1] >= 2:
                return [z3.Not(c.var)]  # closes a longer cycle (illegal anyway)
            if w[0] == "via" and w[3] == y:  # t's protector is y: a 2-cycle
                return [
                    z3.Implies(z3.And(c.var, le[(y, j)]), z3.BoolVal(j >= 2))
                    for j in range(1, b + 1)
                ]
        back = self.var.get((c.t, y)) if c.t in self.open else None
        out = []
        for j in range(1, b + 1):
            rest = self._at_most(le, c.t, j - 1)
            if back is not None:
                rest = z3.If(back, z3.BoolVal(j >= 2), rest)
            out.append(z3.Implies(z3.And(c.var, le[(y, j)]), rest))
        return out

    # -- with longer cycles allowed --------------------------------------------------------------
    def _succ(self, x: str) -> list[tuple[z3.BoolRef | None, str]]:
        if x in self.open:
            return [(c.var, c.t) for c in self.c.legal[x]]
        ups = self.c.protectors[x]
        return [(None, ups[0])] if len(ups) == 1 else []

    def reach(self, objective: list, starts: list[str]) -> list:
        """For each start s, `on[x]` says x is on the chain from s and `dist[x]` is its place on
        it (one more than some predecessor on the chain, at most one more than each), so both
        are exact; the new edge y -> t is used when t comes right after y (not when it closes
        the cycle back to an earlier server). Definitions go to `objective`; the answer is a
        list of (a new edge is used, length) per start."""
        out = []
        for si, s in enumerate(starts):
            reach, todo = {s}, [s]
            while todo:
                cur = todo.pop()
                for _, nxt in self._succ(cur):
                    if nxt not in reach:
                        reach.add(nxt)
                        todo.append(nxt)
            out.append(self._on_chain(objective, si, s, sorted(reach, key=canon)))
        return out

    def _on_chain(self, objective: list, si: int, s: str, names: list[str]) -> tuple:
        on = {x: z3.Bool(f"on!{si}!{xi}") for xi, x in enumerate(names)}
        dist = {x: z3.Int(f"dist!{si}!{xi}") for xi, x in enumerate(names)}
        objective += [on[s], dist[s] == 0]
        support: dict[str, list[z3.BoolRef]] = {x: [] for x in names}
        for x in names:
            for cond, nxt in self._succ(x):
                active = on[x] if cond is None else z3.And(on[x], cond)
                objective.append(z3.Implies(active, z3.And(on[nxt], dist[nxt] <= dist[x] + 1)))
                support[nxt].append(z3.And(active, dist[nxt] == dist[x] + 1))
        for x in names:
            if x != s:
                objective.append(z3.Implies(on[x], z3.And(dist[x] >= 1, any_of(support[x]))))
        length = z3.Sum([z3.If(on[x], 1, 0) for x in names])
        new = any_of(
            z3.And(on[y], c.var, dist[c.t] == dist[y] + 1)
            for y in names
            if y in self.open
            for c in self.c.legal[y]
        )
        return (new, length)

    # -- a lower bound -------------------------------------------------------------------------------
    def floor(self, unassigned: int) -> int:
        """A lower bound of the longest new chain when `unassigned` servers get no secondary:
        2, or 3 where chains of two are impossible even without the rules that tie choices
        together. Chains of two need every server y either to take a root (a server with no
        or several secondaries, or a new one) or to form a 2-cycle; a server that protects
        others must pair with its only child (else their chains grow by y's new secondary).
        The servers left need a partner among themselves: a matching (Edmonds) must cover
        them."""
        if unassigned != len(self.c.q.needs) - len(self.c.open):
            return 2  # some could be left out: no simple bound
        below: dict[str, set[str]] = {y: set() for y in self.c.open}
        for x in self.via:
            below[self.walks[x][3]].add(self.walks[x][2])
        free, rooted = [], set()
        for y in self.c.open:
            entries = below[y]
            if entries:
                if len(entries) > 1 or (y, next(iter(entries))) not in self.var:
                    return 3
                continue  # pairs with its child
            free.append(y)
            for c in self.c.legal[y]:
                if c.slot is not None or (c.t not in self.open and self.walks[c.t] == ("const", 1)):
                    rooted.add(y)
                    break
        needy = [y for y in free if y not in rooted]
        if not needy:
            return 2
        return 2 if self._matched(free, needy) else 3

    def _matched(self, free: list[str], needy: list[str]) -> bool:
        """Whether a matching of 2-cycles among the free servers covers every needy one."""
        graph = nx.Graph()
        free_set = set(free)
        for y in free:
            for c in self.c.legal[y]:
                if c.t in free_set and (c.t, y) in self.var:
                    graph.add_edge(y, c.t, weight=(y in needy) + (c.t in needy))
        matching = nx.max_weight_matching(graph)
        covered = {n for edge in matching for n in edge}
        return all(y in covered for y in needy)
