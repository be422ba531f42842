"""The rule catalogue: discovery and the registry (one module per rule, one id per rule).

Every module under `dpmsmt/rules/<family>/` that defines a subclass of `Rule` contributes it;
adding a rule never edits another module. The registry refuses duplicate or malformed ids.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from functools import cache

from dpmsmt.rules._base import NULL, Rule, Scope, by_profile, in_profiles

__all__ = ["NULL", "Rule", "Scope", "all_rules", "by_profile", "get", "in_profiles", "rule_ids"]

_ID = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)*\Z")
_FAMILIES = ("topology", "datasources", "meta", "change")


@cache
def all_rules() -> tuple[Rule, ...]:
    """Every rule, sorted by id."""
    found: dict[str, Rule] = {}
    for family in _FAMILIES:
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


def rule_ids() -> tuple[str, ...]:
    return tuple(r.id for r in all_rules())


def get(rule_id: str) -> Rule:
    for r in all_rules():
        if r.id == rule_id:
            return r
    raise KeyError(rule_id)
