"""The merged document -> topology YAML with comments (a header naming the exports, `# guessed`).

Deterministic and diff-friendly: the merge sorts every name; here each data source is one line
where it fits, small mappings (`database`, `policy`) and lists of names are flow style, and a
comment sits at the end of the line it is about. Scalars are quoted exactly as `dpmsmt dump`
quotes them, so the loader reads back what was meant.
"""

from __future__ import annotations

from typing import Any

from dpmsmt.io.dump import _flow_text, scalar

__all__ = ["render"]

_FLOW_KEYS = frozenset(("database", "failure", "policy", "secondary_policy"))
_WIDTH = 160  # a data source longer than this as one line is written in block style


def render(doc: dict[str, Any], comments: dict[tuple, str], header: list[str]) -> str:
    lines = [f"# {h}".rstrip() for h in header]
    _mapping(doc, 0, (), comments, lines)
    return "\n".join(lines) + "\n"


def _suffix(comment: str | None) -> str:
    return f"  # {comment}" if comment else ""


def _mapping(mapping: dict, indent: int, path: tuple, comments: dict, lines: list[str]) -> None:
    pad = " " * indent
    for key, value in mapping.items():
        if key.startswith("_"):
            continue
        here = (*path, key)
        head = f"{pad}{scalar(key)}:"
        note = _suffix(comments.get(here))
        if isinstance(value, dict) and value and key not in _FLOW_KEYS:
            lines.append(head + note)
            _mapping(value, indent + 2, here, comments, lines)
        elif isinstance(value, list) and any(isinstance(v, dict) for v in value):
            lines.append(head + note)
            for i, item in enumerate(value):
                _item(item, indent + 2, (*here, i), comments, lines)
        else:
            lines.append(f"{head} {_flow_text(_public(value))}{note}")


def _item(item: Any, indent: int, path: tuple, comments: dict, lines: list[str]) -> None:
    pad = " " * indent
    note = _suffix(comments.get(path) or (item.get("_comment") if isinstance(item, dict) else None))
    text = _flow_text(_public(item))
    if not isinstance(item, dict) or len(text) + indent + 2 <= _WIDTH:
        lines.append(f"{pad}- {text}{note}")
        return
    sub: list[str] = []
    _mapping(item, indent + 2, path, comments, sub)
    sub[0] = f"{pad}- {sub[0][indent + 2 :]}{note}"
    lines.extend(sub)


def _public(value: Any) -> Any:
    """The value without the merge's private keys (`_comment`)."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value
