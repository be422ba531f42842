"""The merged document -> topology YAML with comments (a header naming the exports, `# guessed`).

Deterministic and diff-friendly: the merge sorts every name; here each data source is one line
where it fits, small mappings (`database`, `policy`) and lists of names are flow style, and a
comment sits at the end of the line it is about. Scalars are quoted exactly as `dpmsmt dump`
quotes them, so the loader reads back what was meant.
"""

from __future__ import annotations

from typing import Any

from dpmsmt.io.dump import scalar

__all__ = ["render"]

_FLOW_KEYS = frozenset(("database", "failure", "policy", "secondary_policy"))
_WIDTH = 160  # a data source longer than this as one line is written in block style
_SCALARS = (str, int, bool, type(None))


def render(doc: dict[str, Any], comments: dict[tuple, str], header: list[str]) -> str:
    lines = [f"# {h}".rstrip() for h in header]
    _mapping(doc, 0, (), comments, lines, {})
    return "\n".join(lines) + "\n"


def _flow(value: Any, cache: dict) -> str:
    """`_flow_text` of a value, with the text of each scalar and small mapping remembered: an
    estate of 200k data sources repeats a few hundred names and policies."""
    if isinstance(value, dict):
        if "name" in value:
            return _named(value, cache)
        key = (
            tuple((k, type(v), v) for k, v in value.items())
            if "name" not in value and all(type(v) in _SCALARS for v in value.values())
            else None
        )
        if key is not None:
            found = cache.get(key)
            if found is not None:
                return found
        text = (
            "{"
            + ", ".join(
                f"{_scalar(k, cache)}: {_flow(v, cache)}"
                for k, v in value.items()
                if not k.startswith("_")
            )
            + "}"
        )
        if key is not None and len(cache) < 100_000:
            cache[key] = text
        return text
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v, cache) for v in value) + "]"
    return _scalar(value, cache)


def _named(value: dict, cache: dict) -> str:
    """A data source (200k of them): its keys are the format's plain words, its strings and
    policies mostly repeat."""
    parts = []
    for k, v in value.items():
        if k[0] == "_":
            continue
        if type(v) is str:
            text = cache.get(v)
            if text is None:
                text = cache[v] = scalar(v)
        elif type(v) is dict:
            text = _flow(v, cache)
        else:
            text = scalar(v)
        parts.append(f"{k}: {text}")
    return "{" + ", ".join(parts) + "}"


def _scalar(value: Any, cache: dict) -> str:
    if type(value) is not str:
        return scalar(value)
    found = cache.get(value)
    if found is None:
        found = cache[value] = scalar(value)
    return found


def _suffix(comment: str | None) -> str:
    return f"  # {comment}" if comment else ""


def _mapping(
    mapping: dict, indent: int, path: tuple, comments: dict, lines: list[str], cache: dict
) -> None:
    pad = " " * indent
    for key, value in mapping.items():
        if key.startswith("_"):
            continue
        here = (*path, key)
        head = f"{pad}{scalar(key)}:"
        note = _suffix(comments.get(here))
        if isinstance(value, dict) and value and key not in _FLOW_KEYS:
            lines.append(head + note)
            _mapping(value, indent + 2, here, comments, lines, cache)
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            lines.append(head + note)
            for i, item in enumerate(value):
                _item(item, indent + 2, (*here, i), comments, lines, cache)
        else:
            lines.append(f"{head} {_flow(value, cache)}{note}")


def _item(
    item: Any, indent: int, path: tuple, comments: dict, lines: list[str], cache: dict
) -> None:
    pad = " " * indent
    note = _suffix(comments.get(path) or (item.get("_comment") if isinstance(item, dict) else None))
    text = _flow(item, cache)
    if not isinstance(item, dict) or len(text) + indent + 2 <= _WIDTH:
        lines.append(f"{pad}- {text}{note}")
        return
    sub: list[str] = []
    _mapping(item, indent + 2, path, comments, sub, cache)
    sub[0] = f"{pad}- {sub[0][indent + 2 :]}{note}"
    lines.extend(sub)
