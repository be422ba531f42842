"""SMT-LIB text for large optimisation problems.

Writing the constraints as text and loading them with `from_string` is many times faster than
building terms through the Z3 Python API; the decision variables are then Z3 constants of the
same names, for reading models and blocking them.
"""

from __future__ import annotations

from collections.abc import Iterable

import z3

__all__ = ["SmtText", "conj", "disj", "total"]


class SmtText:
    """Declarations and assertions, in the order they are made."""

    def __init__(self) -> None:
        self.declared: list[str] = []
        self.lines: list[str] = []

    def declare(self, name: str, sort: str = "Int") -> None:
        """A constant the text declares, without its Z3 term (terms made earlier than needed
        change Z3's term order, and with it which of equally good models it finds)."""
        self.declared.append(f"(declare-const {name} {sort})")

    def int_var(self, name: str) -> z3.ArithRef:
        self.declare(name, "Int")
        return z3.Int(name)

    def bool_var(self, name: str) -> z3.BoolRef:
        self.declare(name, "Bool")
        return z3.Bool(name)

    def define(self, name: str, term: str) -> z3.ArithRef:
        """An Int constant equal to `term`."""
        self.declared.append(f"(declare-const {name} Int)")
        self.lines.append(f"(assert (= {name} {term}))")
        return z3.Int(name)

    def add(self, term: str) -> None:
        self.lines.append(f"(assert {term})")

    def text(self) -> str:
        return "\n".join([*self.declared, *self.lines])


def conj(terms: Iterable[str]) -> str:
    terms = list(terms)
    return "true" if not terms else terms[0] if len(terms) == 1 else f"(and {' '.join(terms)})"


def disj(terms: Iterable[str]) -> str:
    terms = list(terms)
    return "false" if not terms else terms[0] if len(terms) == 1 else f"(or {' '.join(terms)})"


def total(terms: Iterable[str]) -> str:
    terms = list(terms)
    return "0" if not terms else terms[0] if len(terms) == 1 else f"(+ {' '.join(terms)})"
