"""YAML 1.2 text -> plain Python data, with a locator for line and column of any path.

Why this shape: PyYAML's libyaml-backed `compose` keeps every node's mark and is about twice as
fast as its `load` on large estates (performance.md), because building Python objects is the slow
part. We compose in C, then build dicts and lists ourselves in one walk that also resolves plain
scalars by the YAML 1.2 core schema (PyYAML only knows 1.1: `yes` is a string here, as 1.2 says),
refuses duplicate keys, too deep nesting and alias bombs. The node tree is kept, so a path's
position is found only when a message needs it.
"""

from __future__ import annotations

import re

import yaml

from dpmsmt.io.limits import MAX_ALIAS_NODES, MAX_DEPTH, ReadFailure

try:  # pragma: no cover - depends on how PyYAML was built
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

__all__ = ["read_yaml"]

_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?\Z")
_DEEP_FLOW = re.compile(r"[\[{](?:\s*[\[{]){" + str(MAX_DEPTH) + "}")
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_INF = frozenset((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"))
_NINF = frozenset(("-.inf", "-.Inf", "-.INF"))
_NAN = frozenset((".nan", ".NaN", ".NAN"))


def _plain(value: str):
    """Resolve a plain scalar by the YAML 1.2 core schema."""
    if not value:
        return None
    c = value[0]
    if c.isalpha() and c not in "tTfFnN":
        return value  # the common case: a name
    if value in _NULLS:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if c in "0123456789+-.":
        if _INT.match(value):
            return int(value)
        if _OCT.match(value):
            return int(value[2:], 8)
        if _HEX.match(value):
            return int(value[2:], 16)
        if _FLOAT.match(value):
            return float(value)
        if value in _INF:
            return float("inf")
        if value in _NINF:
            return float("-inf")
        if value in _NAN:
            return float("nan")
    return value


class _Walker:
    def __init__(self, track_aliases: bool):
        self.track = track_aliases
        self.seen: dict[int, object] = {}
        self.sizes: dict[int, int] = {}
        self.alias_nodes = 0

    def fail(self, node, message: str, path: tuple) -> ReadFailure:
        m = node.start_mark
        return ReadFailure(m.line + 1, m.column + 1, path, message)

    def walk(self, node, path: tuple, depth: int):
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels is refused", path)
        if isinstance(node, yaml.ScalarNode):
            if not node.style:  # plain (None in PyYAML, "" in libyaml)
                if node.tag in _IMPLICIT:
                    return _plain(node.value)
                raise self.fail(node, f"unsupported YAML tag {node.tag}", path)
            if node.tag in _STRING_TAGS:
                return node.value
            raise self.fail(node, f"unsupported YAML tag {node.tag}", path)
        if self.track:
            key = id(node)
            if key in self.seen:  # an alias: count what it expands to
                self.alias_nodes += self._size(node)
                if self.alias_nodes > MAX_ALIAS_NODES:
                    raise self.fail(
                        node, f"YAML aliases expand beyond {MAX_ALIAS_NODES:,} nodes", path
                    )
                return self.seen[key]
        if isinstance(node, yaml.MappingNode):
            out: dict = {}
            for knode, vnode in node.value:
                if not isinstance(knode, yaml.ScalarNode):
                    raise self.fail(knode, "a mapping key must be a plain string", path)
                k = knode.value
                if k in out:
                    raise self.fail(knode, f"duplicate key {k!r}", (*path, k))
                out[k] = self.walk(vnode, (*path, k), depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            out = [self.walk(v, (*path, i), depth + 1) for i, v in enumerate(node.value)]
        else:  # pragma: no cover - compose yields only the three node kinds
            raise self.fail(node, "unsupported YAML node", path)
        if self.track:
            self.seen[id(node)] = out
        return out

    def _size(self, node) -> int:
        key = id(node)
        if key in self.sizes:
            return self.sizes[key]
        if isinstance(node, yaml.MappingNode):
            n = 1 + sum(1 + self._size(v) for _, v in node.value)
        elif isinstance(node, yaml.SequenceNode):
            n = 1 + sum(self._size(v) for v in node.value)
        else:
            n = 1
        self.sizes[key] = n
        return n


_IMPLICIT = frozenset(
    "tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "timestamp")
)
_STRING_TAGS = frozenset(("tag:yaml.org,2002:str",))


class YamlLocator:
    """Finds the line and column of a document path in the composed node tree."""

    def __init__(self, root):
        self.root = root
        self._index: dict[int, dict[str, tuple]] = {}

    def __call__(self, path: tuple, key: bool = False) -> tuple[int, int] | None:
        node, knode = self.root, None
        for part in path:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                idx = self._index.get(id(node))
                if idx is None:
                    idx = {k.value: (k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}
                    self._index[id(node)] = idx
                if part not in idx:
                    break
                knode, node = idx[part]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                knode, node = None, node.value[part]
            else:
                break
        else:
            target = knode if key and knode is not None else node
            m = target.start_mark
            return (m.line + 1, m.column + 1)
        m = node.start_mark
        return (m.line + 1, m.column + 1)


def read_yaml(text: str):
    """Parse YAML text; return (data, locator). Raises ReadFailure on bad input."""
    deep = _DEEP_FLOW.search(text)
    if deep:
        line = text.count("\n", 0, deep.start()) + 1
        col = deep.start() - (text.rfind("\n", 0, deep.start()) + 1) + 1
        raise ReadFailure(line, col, (), f"nesting deeper than {MAX_DEPTH} levels is refused")
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = e.problem or str(e)
        if e.context and e.context not in problem:
            problem = f"{e.context}: {problem}"
        raise ReadFailure(line, col, (), f"YAML syntax error: {problem}") from None
    except RecursionError:
        raise ReadFailure(1, 1, (), f"nesting deeper than {MAX_DEPTH} levels is refused") from None
    except yaml.YAMLError as e:
        raise ReadFailure(1, 1, (), f"YAML error: {e}") from None
    if root is None:
        raise ReadFailure(1, 1, (), "the file is empty: expected a mapping with `dpmsmt: 1`")
    walker = _Walker(track_aliases="&" in text)
    data = walker.walk(root, (), 1)
    return data, YamlLocator(root)
