"""Enumerated values compare without regard to case, as names do: `type: SQL` is `type: sql`.

Windows administrators write `SQL`, `HyperV`-style capitals, and PowerShell compares without
case; the format's values are lowercase (format.md). Values are canonicalised to the format's
spelling before validation, from the schema's own `Literal` types, so a value added to the schema
is covered without a list here. Only run when the document fails validation as written: files in
the canonical spelling pay nothing.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel

__all__ = ["canonical_enums"]


def canonical_enums(data: Any, model: type[BaseModel]) -> bool:
    """Rewrite, in place, enumerated values of `data` (validated by `model`) that differ from an
    allowed value only in case. True when something changed."""
    return _Canonicaliser().walk(model, data)


class _Canonicaliser:
    """One rewrite of a document; it remembers what each type allows for as long as it runs (a
    large estate repeats a handful of types 200k times)."""

    def __init__(self) -> None:
        self._plans: dict[Any, tuple[tuple[str, Any], ...]] = {}
        self._spellings: dict[Any, dict[str, str]] = {}
        self._fields: dict[type[BaseModel], dict[str, Any]] = {}

    def walk(self, tp: Any, value: Any) -> bool:
        """Canonicalise inside `value` (lists and dicts in place); True when something changed."""
        changed = False
        for kind, arg in self.plan(tp):
            if kind == "model" and isinstance(value, dict):
                changed |= self._items(value, self.fields(arg), value.items())
            elif kind == "list" and isinstance(value, list):
                changed |= self._items(value, None, enumerate(value), arg)
            elif kind == "dict" and isinstance(value, dict):
                changed |= self._items(value, None, value.items(), arg)
        return changed

    def _items(self, container, fields: dict | None, items, every: Any = None) -> bool:
        """Canonicalise the items of a dict or list: each by its field's type, else `every`."""
        changed = False
        for key, item in items:
            sub = every if fields is None else fields.get(key)
            if sub is None:
                continue
            new = self.canonical(sub, item)
            if new is not item:
                container[key], changed = new, True
            elif isinstance(item, dict | list):
                changed |= self.walk(sub, item)
        return changed

    def canonical(self, tp: Any, value: Any) -> Any:
        """The allowed spelling of a string `value` if `tp` enumerates it in another case."""
        if isinstance(value, str):
            spellings = self.spellings(tp)
            if spellings:
                found = spellings.get(value.casefold())
                if found is not None and found != value:
                    return found
        return value

    def spellings(self, tp: Any) -> dict[str, str]:
        """casefolded -> allowed spelling, for the string literals `tp` allows."""
        found = self._spellings.get(tp)
        if found is None:
            found = self._spellings[tp] = {
                v.casefold(): v
                for kind, arg in self.plan(tp)
                if kind == "literal"
                for v in arg
                if isinstance(v, str)
            }
        return found

    def fields(self, model: type[BaseModel]) -> dict[str, Any]:
        found = self._fields.get(model)
        if found is None:
            found = self._fields[model] = {
                f.alias or name: f.annotation for name, f in model.model_fields.items()
            }
        return found

    def plan(self, tp: Any) -> tuple[tuple[str, Any], ...]:
        found = self._plans.get(tp)
        if found is None:
            found = self._plans[tp] = _plan(tp)
        return found


def _plan(tp: Any) -> tuple[tuple[str, Any], ...]:
    """What `tp` can be, flattened through Annotated, Optional and unions."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        return _plan(args[0])
    if origin in (typing.Union, types.UnionType):
        return tuple(p for a in args for p in _plan(a))
    if origin is Literal:
        return (("literal", args),)
    if origin is list:
        return (("list", args[0]),)
    if origin is dict:
        return (("dict", args[1]),)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return (("model", tp),)
    return ()
