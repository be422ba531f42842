"""The search for the best plans of a failure: the lexicographic minimum of the criteria, every
plan of that cost up to a bound (ordered by its sorted action list), the proof of each, and
blocking to find the next (`optimize.search`)."""

from __future__ import annotations

from dataclasses import replace

import z3

from dpmsmt.encode import model_values
from dpmsmt.findings import SolverGaveUp
from dpmsmt.optimize.search import attempts, block, lexmin
from dpmsmt.plan import Plan
from dpmsmt.recovery.decode import Decoder
from dpmsmt.recovery.encoding import CRITERIA, Encoding, Variables
from dpmsmt.recovery.verify import Verifier

__all__ = ["Search", "solve"]


def solve(problem, top: int, timeout: float | None) -> tuple[list[Plan], bool]:
    """The best `top` plans, and whether the first is proved optimal.

    Where `max_load` is the last criterion, the optimizer decides with one option per class
    of move targets (exact for the other seven criteria) and decoding puts the servers on
    members with the least largest load for that decision. Where `--rank` puts `max_load`
    earlier, every member is its own option (the MOVE_CANDIDATES least loaded per class).
    """
    expand = not (problem.classes and problem.order[-1] == "max_load")
    problem.prune = top == 1 and problem.order == CRITERIA
    return Search(problem, expand).run(top, timeout)


class Search:
    """One search: the encoding, the blocks so far, the plans found."""

    def __init__(self, problem, expand: bool):
        self.problem = problem
        self.variables, self.costs = Encoding(problem, expand).encode()
        self.cons: list[z3.BoolRef] = []  # the problem is the text; these come on top of it
        self.definitions = (
            problem.legal.grounder.definitions(self.variables.used) + "\n" + self.variables.smt
        )
        self.decision = self.variables.decision
        self.blocks: list[z3.BoolRef] = []
        self.seen: set[tuple] = set()
        self.refused = False  # the proof refused a plan the search found
        self.decoder = Decoder(problem)
        self.verifier = Verifier(problem)

    def run(self, top: int, timeout: float | None) -> tuple[list[Plan], bool]:
        costs, order = self.costs, self.problem.order
        plans: list[Plan] = []
        optimal = True
        for _ in attempts(top, plans):
            result, model, reason = lexmin(
                self.definitions, [*self.cons, *self.blocks], [costs[c] for c in order], timeout
            )
            if result == z3.unsat:
                break
            if result == z3.unknown:
                optimal = False
                if model is None:
                    if not plans:
                        raise SolverGaveUp(f"the solver gave up: {reason}")
                    break
            self._prove(self._candidates(model, top), plans, top)
            if plans and plans[0].complete:
                # partial plans only when none is complete
                self.cons = [*self.cons, costs["unprotected"] == 0]
            if result == z3.unknown:
                break
        # the encoding and `check` disagreed and no plan survived the proof: "no plan" is not
        # proved (the search may have stopped at its attempt limit among refused models). A plan
        # shown after refused cheaper ones is the least the proof accepts in the search's order.
        if self.refused and not plans:
            optimal = False
        return plans, optimal

    def _candidates(self, model, top: int) -> list[Plan]:
        """Every plan of the model's cost (up to a bound), best first; first those whose moves
        fit under the least possible largest load, class by class."""
        costs, order, decision = self.costs, self.problem.order, self.decision
        best = tuple(model.eval(costs[c], model_completion=True).as_long() for c in order)
        limit = min(12, top + 3)
        floor = max(self.problem.base_loads.values(), default=0)
        fits = self._fits(self.variables, floor, model)
        cons = self.cons + self.blocks
        tied = self._tied(cons + fits, costs, best, decision, None, limit) if fits else []
        if not tied:
            tied = self._tied(cons, costs, best, decision, model, limit)
        candidates: list[Plan] = []
        for m in tied:
            self.blocks.append(block(m, decision))
            # once a plan of this cost reaches the least possible largest load, a tied
            # model that cannot reach it is worse: skip it rather than place it
            at_floor = any(p.cost["max_load"] <= floor for p in candidates)
            plan = self.decoder.plan(m, self.variables, costs, floor_only=at_floor)
            if plan is None:
                continue
            key = plan.sort_key()
            if key in self.seen:
                continue
            self.seen.add(key)
            candidates.append(plan)
        candidates.sort(key=lambda p: (tuple(p.cost[c] for c in order), p.sort_key()))
        return candidates

    def _prove(self, candidates: list[Plan], plans: list[Plan], top: int) -> None:
        """States, losses and the proof only for the plans shown, best first."""
        for candidate in candidates:
            if len(plans) >= top:
                break
            plan = self.verifier.verify(self.verifier.complete(candidate))
            if plan is not None:
                plans.append(replace(plan, rank=len(plans) + 1))
            else:
                self.refused = True

    def _tied(self, cons, costs, best, decision, first, limit: int) -> list[z3.ModelRef]:
        """Models of cost `best` (after `first` where given), up to `limit`."""
        solver = z3.SolverFor("QF_LIA")
        solver.set("random_seed", 0)
        solver.from_string(self.definitions)
        solver.add(cons)
        solver.add([costs[c] == v for c, v in zip(self.problem.order, best, strict=True)])
        out = []
        if first is not None:
            out.append(first)
            solver.add(block(first, decision))
        while len(out) < limit and solver.check() == z3.sat:
            m = solver.model()
            out.append(m)
            solver.add(block(m, decision))
        return out

    def _fits(self, variables: Variables, floor: int, model) -> list[z3.BoolRef]:
        """Class by class, the data sources moved to a class within what its members can take
        below `floor` (by their base loads): a linear relaxation of `max_load` for the choice of
        classes, which `_place` then makes exact. Empty where the model moves nothing (its tied
        models are then taken as they come)."""
        if variables.expand:
            return []
        values = model_values(model)
        if not any(
            values.get(c.decl().name(), 0)
            for options in variables.by_group.values()
            for opt, c in options
            if opt.kind == "move"
        ):
            return []
        moved: dict[tuple[str, ...], list] = {}
        for gi, options in variables.by_group.items():
            g = self.problem.groups[gi]
            for opt, c in options:
                if opt.kind == "move":
                    members = tuple(g.classes[opt.target])
                    moved.setdefault(members, []).append(c * g.datasources)
        loads = self.problem.base_loads
        return [
            z3.Sum(terms) <= sum(max(0, floor - loads.get(m, 0)) for m in members)
            for members, terms in sorted(moved.items())
        ]
