"""Topology -> facts (`facts`: View, ChangeView, Scope; no Z3) -> one SMT-LIB problem
(`grounder`: Grounder, model values, seeded solvers).

The names of both are importable from here, as before the split; the grounder's (Z3) are loaded
on first use, so that reading facts does not import Z3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dpmsmt.encode.facts import (
    NULL,
    ChangeView,
    DsChange,
    DsFacts,
    Inactive,
    Scope,
    View,
    code,
    grouped_datasources,
    inactive_replicas,
    profile_code,
    version_vector,
)

if TYPE_CHECKING:
    from dpmsmt.encode.grounder import Grounder, model_values, new_solver, symbolic_facts

__all__ = [
    "NULL",
    "ChangeView",
    "DsChange",
    "DsFacts",
    "Grounder",
    "Inactive",
    "Scope",
    "View",
    "code",
    "grouped_datasources",
    "inactive_replicas",
    "model_values",
    "new_solver",
    "profile_code",
    "symbolic_facts",
    "version_vector",
]

_GROUNDER = frozenset(("Grounder", "model_values", "new_solver", "symbolic_facts"))


def __getattr__(name: str):
    if name in _GROUNDER:
        from dpmsmt.encode import grounder

        return getattr(grounder, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
