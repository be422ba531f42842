"""Write a changed topology back into the user's own YAML text: comments, key order, quoting,
flow style and indentation kept (`suggest-move --apply`, `design --apply`).

How: the difference between the document of the topology as read (`dump.document`) and that of
the new one is applied to the file as ruamel.yaml reads it in round-trip mode. Only what the
plan changes is touched: a value that both documents agree on stays as the user wrote it, even
where the user spelt it differently (`primary` left to its default, `DPM1` as `dpm1`). New keys
go where `dump` would put them among the keys already there; new values take the style `dump`
gives them (one-line data sources, quoted versions). The result is read back: when it does not
give the new topology exactly, `patch` returns None and the caller writes `dump`'s text.
"""

from __future__ import annotations

import io
import itertools
import re
from collections import Counter
from typing import Any

from dpmsmt.io.dump import Flow, document, plain_data, scalar
from dpmsmt.model import Topology

__all__ = ["patch"]

_MISSING = object()
MAX_CHARS = 4_000_000  # ruamel.yaml reads ~10x slower than our reader: beyond this, dump's text


def patch(text: str, before: Topology, after: Topology) -> str | None:
    """`text` (the YAML file `before` was read from) changed so that it reads as `after`;
    None where that cannot be done faithfully (or the file is larger than MAX_CHARS)."""
    if len(text) > MAX_CHARS:
        return None
    try:
        from ruamel.yaml import YAML
    except ImportError:  # pragma: no cover - a dependency; dump's text is the fallback
        return None
    from dpmsmt.io.loader import loads

    try:
        yaml = YAML(typ="rt")
        yaml.preserve_quotes = True
        yaml.width = 4096  # never re-wrap a user's long line
        mapping, offset = _indentation(text)
        yaml.indent(mapping=mapping, sequence=offset + 2, offset=offset)
        tree = yaml.load(text)
        old, new = document(before), document(after)
        if not isinstance(tree, dict):
            return None
        _merge_mapping(tree, old, new)
        out = io.StringIO()
        yaml.dump(tree, out)
        result = out.getvalue()
    except Exception:  # ruamel refuses something the dpmsmt reader accepted: dump's text
        return None
    try:
        check = loads(result, file=after.file)
    except Exception:
        return None
    if document(check, flow=False) != document(after, flow=False):
        return None
    return result


_KEY_ONLY = re.compile(r"^( *)[^\s#-][^#]*:\s*(#.*)?$")


def _indentation(text: str) -> tuple[int, int]:
    """(mapping indent, dash offset of block sequences) the file mostly uses, so that ruamel
    writes the file's own layout back (its defaults are 2 and 0)."""
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    mappings: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    for line, following in itertools.pairwise(lines):
        m = _KEY_ONLY.match(line)
        if m is None:
            continue
        step = len(following) - len(following.lstrip(" ")) - len(m[1])
        if following.lstrip(" ").startswith("- "):
            offsets[max(step, 0)] += 1
        elif step > 0:
            mappings[step] += 1
    mapping = mappings.most_common(1)[0][0] if mappings else 2
    offset = offsets.most_common(1)[0][0] if offsets else 0
    return mapping, offset


def _merge(node: Any, old: Any, new: Any) -> Any:
    """The node for `new`, reusing `node` (the user's, meaning `old`) wherever it can."""
    if plain_data(old) == plain_data(new):
        return node
    o, n = _unflow(old), _unflow(new)
    if isinstance(n, dict) and isinstance(o, dict) and isinstance(node, dict):
        _merge_mapping(node, o, n)
        return node
    if (
        isinstance(n, list)
        and isinstance(o, list)
        and isinstance(node, list)
        and _merge_sequence(node, o, n)
    ):
        return node
    return _styled(new, like=node)


def _unflow(value: Any) -> Any:
    return value.value if isinstance(value, Flow) else value


def _merge_mapping(node, old: dict, new: dict) -> None:
    keys = {k: k for k in node}
    for key in [k for k in old if k not in new]:
        real = keys.get(key)
        if real is not None:
            del node[real]
    order = list(new)
    for key in order:
        real = keys.get(key)
        before = old.get(key, _MISSING)
        if real is not None:
            if before is _MISSING:  # the user wrote a key the document leaves out: a default
                node[real] = _styled(new[key], like=node[real])
            else:
                node[real] = _merge(node[real], before, new[key])
        elif before is _MISSING or plain_data(before) != plain_data(new[key]):
            _insert(node, order, key, _styled(new[key], like=None))


def _insert(node, order: list, key: str, value: Any) -> None:
    """Put `key` after the last key that `dump` writes before it and the node already has."""
    existing = list(node.keys())
    position = 0
    for earlier in order[: order.index(key)]:
        if earlier in existing:
            position = existing.index(earlier) + 1
    if hasattr(node, "insert"):
        node.insert(position, key, value)
    else:  # pragma: no cover - ruamel always gives CommentedMap
        node[key] = value


def _merge_sequence(node, old: list, new: list) -> bool:
    """Change the user's list in place: item by item where the lengths agree, by deleting the
    items `new` no longer has, or by appending; False where `new` is something else."""
    if len(old) == len(new) == len(node):
        for i, (o, n) in enumerate(zip(old, new, strict=True)):
            node[i] = _merge(node[i], o, n)
        return True
    plain_old, plain_new = [plain_data(v) for v in old], [plain_data(v) for v in new]
    if len(old) == len(node) and len(new) > len(old) and plain_new[: len(old)] == plain_old:
        for item in new[len(old) :]:
            node.append(_styled(item, like=None))
        return True
    if len(old) == len(node) and len(new) < len(old):
        kept, j = [], 0
        for i, item in enumerate(plain_old):
            if j < len(plain_new) and item == plain_new[j]:
                kept.append(i)
                j += 1
        if j == len(plain_new):
            for i in sorted(set(range(len(old))) - set(kept), reverse=True):
                del node[i]
            return True
    return False


def _styled(value: Any, like: Any) -> Any:
    """A new value as ruamel nodes, in `dump`'s style: `Flow` parts on one line, strings
    quoted where a YAML reader would take them for something else."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    flow = isinstance(value, Flow) or _is_flow(like)
    value = _unflow(value)
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _styled(v, like=None)
        if flow:
            out.fa.set_flow_style()
        return out
    if isinstance(value, list | tuple):
        seq = CommentedSeq(_styled(v, like=None) for v in value)
        if flow:
            seq.fa.set_flow_style()
        return seq
    return _scalar(value, like)


def _is_flow(node: Any) -> bool:
    fa = getattr(node, "fa", None)
    return bool(fa is not None and fa.flow_style())


def _scalar(value: Any, like: Any) -> Any:
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

    if not isinstance(value, str):
        return value
    text = scalar(value)
    if text.startswith('"'):
        return DoubleQuotedScalarString(value)
    if isinstance(like, DoubleQuotedScalarString):
        return DoubleQuotedScalarString(value)
    if text.startswith("'") or isinstance(like, SingleQuotedScalarString):
        return SingleQuotedScalarString(value)
    return value
