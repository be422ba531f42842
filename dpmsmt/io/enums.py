"""Enumerated values compare without regard to case, as names do: `type: SQL` is `type: sql`.

Windows administrators write `SQL`, `HyperV`-style capitals, and PowerShell compares without
case; the format's values are lowercase (format.md). Values are canonicalised to the format's
spelling before validation, from the schema's own `Literal` types, so a value added to the schema
is covered without a list here. Only run when the document fails validation as written: files in
the canonical spelling pay nothing.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel

__all__ = ["canonical_enums"]


def canonical_enums(data: Any, model: type[BaseModel]) -> bool:
    """Rewrite, in place, enumerated values of `data` (validated by `model`) that differ from an
    allowed value only in case. True when something changed."""
    return _walk(model, data)


def _walk(tp: Any, value: Any) -> bool:
    """Canonicalise inside `value` (lists and dicts in place); True when something changed."""
    changed = False
    for kind, arg in _plan(tp):
        if kind == "model" and isinstance(value, dict):
            fields = _fields(arg)
            for key, item in value.items():
                sub = fields.get(key)
                if sub is None:
                    continue
                new = _canonical(sub, item)
                if new is not item:
                    value[key], changed = new, True
                elif isinstance(item, dict | list):
                    changed |= _walk(sub, item)
        elif kind == "list" and isinstance(value, list):
            for i, item in enumerate(value):
                new = _canonical(arg, item)
                if new is not item:
                    value[i], changed = new, True
                elif isinstance(item, dict | list):
                    changed |= _walk(arg, item)
        elif kind == "dict" and isinstance(value, dict):
            for key, item in value.items():
                new = _canonical(arg, item)
                if new is not item:
                    value[key], changed = new, True
                elif isinstance(item, dict | list):
                    changed |= _walk(arg, item)
    return changed


def _canonical(tp: Any, value: Any) -> Any:
    """The allowed spelling of a string `value` if `tp` enumerates it in another case."""
    if isinstance(value, str):
        spellings = _spellings(tp)
        if spellings:
            found = spellings.get(value.casefold())
            if found is not None and found != value:
                return found
    return value


@functools.cache
def _spellings(tp: Any) -> dict[str, str]:
    """casefolded -> allowed spelling, for the string literals `tp` allows."""
    out: dict[str, str] = {}
    for kind, arg in _plan(tp):
        if kind == "literal":
            out.update({v.casefold(): v for v in arg if isinstance(v, str)})
    return out


@functools.cache
def _fields(model: type[BaseModel]) -> dict[str, Any]:
    out = {}
    for name, f in model.model_fields.items():
        out[f.alias or name] = f.annotation
    return out


@functools.cache
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
