"""The search: the criteria minimized lexicographically by one incremental `z3.Solver`.

Each criterion (servers left without a secondary, the longest new chain, the largest load on a
chosen secondary, new servers) is bounded ("at most v") from a lower bound up (halving for the
load), starting from a solution, and the best value found is kept as a constraint for the next.
Then, among designs of equal cost, the one whose sorted action list is smallest is fixed server
by server; later designs block earlier ones. `z3.Optimize` is not used: on these problems it was
orders of magnitude slower, and its model could lag behind the optimum its objectives reported.
A step that only improves a solution gets a share of the time left (`SEARCH_SHARE`); if it runs
out, the best design found is still verified and shown as not proved best. Estates of many
identical DPM servers (same build, same number of data sources) are the hard case for proving
the best load: the time limit then applies.
"""

from __future__ import annotations

import time
from dataclasses import replace

import z3

from dpmsmt.design.candidates import Candidate
from dpmsmt.design.decode import Decoder
from dpmsmt.design.encoding import Encoding
from dpmsmt.design.problem import any_of
from dpmsmt.design.result import CRITERIA, Design
from dpmsmt.findings import SolverGaveUp
from dpmsmt.model import canon
from dpmsmt.optimize.search import Criterion, attempts, block, minimize
from dpmsmt.plan import NEW_DPM

__all__ = ["SEARCH_SHARE", "Search"]

SEARCH_SHARE = 0.6  # of the time left, what improving a found design may take


class Search:
    """The best designs of an encoded problem, best first."""

    def __init__(self, enc: Encoding):
        self.enc = enc
        self.c = enc.c
        self.q = enc.q
        self.decoder = Decoder(enc)
        self.search_deadline = float("inf")

    def solve(self, top: int) -> tuple[list[Design], bool]:
        """Up to `top` designs, each the best under the blocks of those before it; whether every
        one was proved best."""
        blocks: list[z3.BoolRef] = []
        extra: list[z3.BoolRef] = []
        designs: list[Design] = []
        optimal = True
        for _ in attempts(top, designs):
            try:
                found = self._lexmin([*blocks, *extra])
            except SolverGaveUp:
                if not designs:
                    raise
                optimal = False
                break
            if found is None:
                break
            chosen, best, proved = found
            optimal = optimal and proved
            if self.enc.decision:
                picked = {c.var.decl().name(): 1 for c in chosen}
                blocks.append(block(picked, self.enc.decision))
            design = self.decoder.design(chosen, best)
            if design is not None:
                designs.append(replace(design, rank=len(designs) + 1))
                # the next designs leave as few servers without a secondary as the best one
                extra = [self.enc.bound("unassigned", designs[0].cost["unassigned"])]
            if not proved or not self.enc.decision:
                break
        return designs, optimal

    def _solver(self, cons: list[z3.BoolRef]) -> z3.Solver:
        solver = z3.Solver()
        solver.set("random_seed", 0)
        solver.set("timeout", self.q.timeout_ms())
        solver.from_string(self.enc.definitions)
        solver.add(self.enc.struct)
        solver.add(self.enc.legality)
        solver.add([t for ts in self.enc.tagged.values() for t in ts])
        solver.add(cons)
        return solver

    def _chosen(self, model) -> list[Candidate]:
        return [
            c
            for y in self.c.open
            for c in self.c.legal[y]
            if z3.is_true(model.eval(c.var, model_completion=True))
        ]

    def _check(self, solver: z3.Solver, *, improving: bool = False) -> z3.CheckSatResult:
        """One check within the time left; a step that only improves a solution already found
        gets at most the search's share of it, so that the best design so far can still be
        verified and shown (as not proved best) when the solver gives up on a step."""
        left = self.q.remaining()
        if improving and left is not None:
            left = min(left, max(0.0, self.search_deadline - time.monotonic()))
            if left <= 0:
                return z3.unknown
        solver.set("timeout", 600_000 if left is None else max(1, int(left * 1000)))
        return solver.check()

    def _lexmin(self, cons: list[z3.BoolRef]) -> tuple[list[Candidate], dict, bool] | None:
        """The best choices under `cons`: the criteria minimized one after the other, then the
        smallest sorted action list among them. None when nothing is left; `proved` is False
        when the solver gave up on a step (the choices are the best found)."""
        left = self.q.remaining()
        self.search_deadline = (
            float("inf") if left is None else time.monotonic() + SEARCH_SHARE * left
        )
        solver = self._solver(cons)
        solver.push()
        solver.add(self.enc.cycles)  # without a chain bound yet, longer cycles are ruled out here
        result = self._check(solver)
        if result == z3.unsat:
            return None
        if result != z3.sat:
            raise SolverGaveUp(f"the solver gave up: {solver.reason_unknown()}")
        choices = _Choices(self._chosen)
        found = minimize(
            solver,
            solver.model(),
            self._criteria(choices),
            lambda *_: self._check(solver, improving=True),
            scoped=True,
            give_up=False,
        )
        chosen, proved = choices(found.model), found.proved
        if proved:
            smallest = self._smallest(solver)
            if smallest is None:
                proved = False
            else:
                chosen = smallest
        return chosen, self.enc.evaluate(chosen), proved

    def _criteria(self, choices: _Choices) -> list[Criterion]:
        """CRITERIA in order: each bounded from a lower bound up (halving for the load), its
        value computed from a model's choices; fixing the first also replaces the ranks
        against longer cycles by a chain bound the choices meet."""
        enc = self.enc
        blocked = len(self.q.needs) - len(self.c.open)

        def value(name: str):
            return lambda model: enc.evaluate(choices(model))[name]

        def bound(name: str):
            return lambda v: enc.bound(name, v)

        def chain_floor(best: dict[str, int], value: int) -> int:
            return enc.chains.floor(best["unassigned"]) if value else 0

        def fix_unassigned(solver: z3.Solver, v: int, model: z3.ModelRef) -> None:
            solver.pop()  # the chain bound rules out longer cycles from now on
            solver.add(enc.objective)  # with --allow-cycles: what `on`/`dist` mean
            solver.add(enc.bound("longest_chain", self._chain_limit(choices(model))))
            solver.add(enc.bound("unassigned", v))

        low = {"unassigned": blocked, "longest_chain": chain_floor}
        return [
            Criterion(
                name=name,
                bound=bound(name),
                value=value(name),
                low=low.get(name, 0),
                halving=name == "max_load",
                fix=fix_unassigned if name == "unassigned" else None,
            )
            for name in CRITERIA
        ]

    def _chain_limit(self, chosen: list[Candidate]) -> int:
        """A chain bound that `chosen` meets (its longest new chain), so that adding it keeps
        `chosen` a solution while it rules out longer cycles."""
        return max(self.enc.evaluate(chosen)["longest_chain"], 2)

    def _smallest(self, solver: z3.Solver) -> list[Candidate] | None:
        """Among the choices the solver still allows, the one whose sorted action list is
        smallest: server by server in name order, the first candidate (by name; no secondary
        last) that still has a solution, found by halving the candidate list."""
        if self._check(solver) != z3.sat:
            return None
        model = solver.model()
        for y in self.c.open:
            options = [c.var for c in sorted(self.c.legal[y], key=_order)]
            options.append(z3.Not(self.enc.covered[y]))
            current = next(
                i for i, v in enumerate(options) if z3.is_true(model.eval(v, model_completion=True))
            )
            found = self._first(solver, model, options, current)
            if found is None:
                return None
            model, hi = found
            solver.add(options[hi])
        if self._check(solver) != z3.sat:
            return None
        return self._chosen(solver.model())

    def _first(self, solver: z3.Solver, model, options: list, current: int) -> tuple | None:
        """The first option with a solution, by halving (options[current] has one), and the
        last model seen. None when the solver gives up."""
        lo, hi = 0, current  # options[hi] has a solution; is there one before it?
        while lo < hi:
            mid = (lo + hi) // 2
            solver.push()
            solver.add(any_of(options[lo : mid + 1]))
            result = self._check(solver, improving=True)
            if result == z3.sat:
                model = solver.model()
                hi = next(
                    i
                    for i in range(lo, mid + 1)
                    if z3.is_true(model.eval(options[i], model_completion=True))
                )
            elif result == z3.unsat:
                lo = mid + 1
            solver.pop()
            if result == z3.unknown:
                return None
        return model, hi


class _Choices:
    """The choices of the latest model the search saw, read once per model (each criterion
    scores the same model again)."""

    def __init__(self, read):
        self.read = read
        self.model = None
        self.chosen: list[Candidate] = []

    def __call__(self, model) -> list[Candidate]:
        if model is not self.model:
            self.model, self.chosen = model, self.read(model)
        return self.chosen


def _order(c: Candidate) -> tuple:
    if c.slot is None:
        return (canon(c.t), 0)
    return (canon(NEW_DPM), c.slot)
