"""The rule catalogue: discovery and the registry (one module per rule, one id per rule).

Every module under `dpmsmt/rules/<family>/` that defines a subclass of `Rule` contributes it;
adding a rule (or a family directory) never edits another module. The registry refuses
duplicate or malformed ids.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

__all__ = [
    "NULL",
    "Rule",
    "Scope",
    "all_rules",
    "by_profile",
    "families",
    "get",
    "in_profiles",
    "rule_ids",
]

_ID = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)*\Z")
_DECLARED = re.compile(r'^    id = "([A-Z][A-Z0-9-]*)"$', re.M)

if TYPE_CHECKING:
    from dpmsmt.rules._base import NULL, Rule, Scope, by_profile, in_profiles


def __getattr__(name: str):
    """`Rule`, `Scope`, … from `_base` on first use: reading a file needs the rule ids only,
    and `_base` imports Z3 (`dpmsmt validate` should not pay for it)."""
    if name in ("NULL", "Rule", "Scope", "by_profile", "in_profiles"):
        from dpmsmt.rules import _base

        return getattr(_base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def families() -> tuple[str, ...]:
    """The rule families: every subpackage of `dpmsmt.rules`, by name (found, not listed, so a
    new family is a new directory; nothing is imported to find them)."""
    return tuple(sorted(i.name for i in pkgutil.iter_modules(__path__) if i.ispkg))


class Catalogue:
    """The rule catalogue of this package: found on first use, then kept for the process, as
    the rule modules it imports are (importing them is how rules are found)."""

    @cached_property
    def rules(self) -> tuple[Rule, ...]:
        return _discover()

    @cached_property
    def ids(self) -> tuple[str, ...]:
        return _declared_ids()


CATALOGUE = Catalogue()


def all_rules() -> tuple[Rule, ...]:
    """Every rule, sorted by id."""
    return CATALOGUE.rules


def rule_ids() -> tuple[str, ...]:
    """Every rule id, sorted, read from the rule modules' source (`id = "…"` in each rule
    class) without importing them; a test holds it equal to the ids of `all_rules()`."""
    return CATALOGUE.ids


def _discover() -> tuple[Rule, ...]:
    from dpmsmt.rules._base import Rule

    found: dict[str, Rule] = {}
    for family in families():
        pkg = importlib.import_module(f"{__name__}.{family}")
        for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
            module = importlib.import_module(f"{pkg.__name__}.{info.name}")
            for obj in vars(module).values():
                if (
                    isinstance(obj, type)
                    and issubclass(obj, Rule)
                    and obj.__module__ == module.__name__
                    and "id" in vars(obj)
                ):
                    rule = obj()
                    if not _ID.match(rule.id):
                        raise ValueError(f"malformed rule id {rule.id!r} in {module.__name__}")
                    if rule.id in found:
                        raise ValueError(f"duplicate rule id {rule.id!r} in {module.__name__}")
                    rule.family = family
                    found[rule.id] = rule
    return tuple(found[k] for k in sorted(found))


def _declared_ids() -> tuple[str, ...]:
    here = Path(__file__).parent
    found = {
        m[1]
        for family in families()
        for path in sorted((here / family).glob("*.py"))
        for m in _DECLARED.finditer(path.read_text(encoding="utf-8"))
    }
    return tuple(sorted(found))


def get(rule_id: str) -> Rule:
    for r in all_rules():
        if r.id == rule_id:
            return r
    raise KeyError(rule_id)
