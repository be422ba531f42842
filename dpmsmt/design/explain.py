"""Why a server gets no secondary: an irreducible set of rule ids that blocks every option,
from an unsat core of named per-rule assertions, reduced by deletion in rule-id order."""

from __future__ import annotations

import z3

from dpmsmt.design.encoding import Encoding
from dpmsmt.design.problem import CYCLE, all_of, any_of
from dpmsmt.optimize.explain import irreducible

__all__ = ["Explainer"]


class Explainer:
    """Explanations, made once per (server, servers the design covers)."""

    def __init__(self, enc: Encoding):
        self.enc = enc
        self.c = enc.c
        self._explained: dict[tuple, list[str]] = {}
        self._split: dict[str, list[z3.BoolRef]] | None = None

    def explain(self, y: str, covered: set[str]) -> list[str]:
        key = (y, frozenset(covered))
        if key not in self._explained:
            if self.c.legal[y]:
                self._explained[key] = self._together(y, covered)
            else:
                self._explained[key] = self._alone(y)
        return self._explained[key]

    def _options(self, y: str, per_rule: dict, skip: set[int]) -> list[z3.BoolRef]:
        """One Boolean per candidate of y not in `skip`, implying its rule terms (per rule)."""
        options = []
        for c in self.c.candidates[y]:
            if c.index in skip:
                continue
            x = z3.Bool(f"option!{c.index}")
            options.append(x)
            for rule_id, lits in c.terms.items():
                per_rule.setdefault(rule_id, []).append(z3.Implies(x, self.c.lit.all(lits)))
        return options

    def _together(self, y: str, covered: set[str]) -> list[str]:
        """Legal alone; blocked together with the servers this design covers (and by what
        blocks its other candidates)."""
        enc = self.enc
        per_rule = {k: list(v) for k, v in enc.tagged.items()}
        for rule_id, terms in self._per_rule().items():
            per_rule.setdefault(rule_id, []).extend(terms)
        if enc.cycles:
            per_rule.setdefault(CYCLE, []).extend(enc.cycles)
        legal = {c.index for c in self.c.legal[y]}
        options = [enc.covered[y], *self._options(y, per_rule, legal)]
        fixed = [*enc.struct, any_of(options), *(enc.covered[x] for x in covered)]
        return self._irreducible(per_rule, fixed)

    def _alone(self, y: str) -> list[str]:
        """No candidate of y is legal even alone."""
        per_rule: dict[str, list] = {}
        options = self._options(y, per_rule, set())
        return self._irreducible(per_rule, [any_of(options)]) if options else []

    def _per_rule(self) -> dict[str, list[z3.BoolRef]]:
        """The legality of every choice, split by rule id (for unsat cores); made once."""
        if self._split is None:
            self._split = {}
            for y in self.c.open:
                for c in self.c.legal[y]:
                    for rule_id, lits in c.terms.items():
                        self._split.setdefault(rule_id, []).append(
                            z3.Implies(c.var, self.c.lit.all(lits))
                        )
        return self._split

    def _irreducible(self, per_rule: dict[str, list], fixed: list) -> list[str]:
        definitions = self.c.grounder.smtlib()
        q = self.c.q

        def solver() -> z3.Solver:
            s = z3.Solver()
            s.set("random_seed", 0)
            s.set("timeout", q.timeout_ms())
            s.from_string(definitions)
            s.add(fixed)
            return s

        return irreducible(per_rule, solver, conj=all_of)
