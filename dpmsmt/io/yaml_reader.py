"""YAML 1.2 text -> plain Python data, with a locator for line and column of any path.

Why this shape: PyYAML's Python constructors are the slow part of `yaml.load` (performance.md).
We read libyaml's events (C, through CSafeLoader) and build dicts and lists ourselves in one pass
that also resolves plain scalars by the YAML 1.2 core schema (PyYAML only knows 1.1: `yes` is a
string here, as 1.2 says) and records where every key and value starts in a compact index (one
int per scalar), so a path's position is found only when a message needs it, without keeping
PyYAML's node tree (about 4 KB per data source).

That fast pass handles the documents dpmsmt files are: one document of mappings, sequences and
untagged scalars. Anything else (anchors and aliases, tags, duplicate keys, nesting too deep,
several documents, syntax errors, a scalar PyYAML's resolver treats specially) makes it give up
and the file is read the careful way: compose the node tree in C, then walk it, refusing
duplicate keys, too deep nesting and alias bombs with the messages and marks of the node tree.
"""

from __future__ import annotations

import base64
import binascii
import re
import sys
from array import array

import yaml
from yaml.events import (
    DocumentEndEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from dpmsmt.io.limits import MAX_ALIAS_NODES, MAX_DEPTH, MAX_INT_DIGITS, NumberTooLarge, ReadFailure

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
            return _bounded(value, 10)
        if _OCT.match(value):
            return _bounded(value[2:], 8)
        if _HEX.match(value):
            return _bounded(value[2:], 16)
        if _FLOAT.match(value):
            return float(value)
        if value in _INF:
            return float("inf")
        if value in _NINF:
            return float("-inf")
        if value in _NAN:
            return float("nan")
    return value


def _bounded(digits: str, base: int) -> int:
    """An integer of at most MAX_INT_DIGITS decimal digits (Python refuses to read more than
    4,300 digits, with an error that is not ours, and no field needs more than a few)."""
    value = int(digits, base) if len(digits) <= 2 * MAX_INT_DIGITS else None
    if value is None or abs(value) >= 10**MAX_INT_DIGITS:
        raise NumberTooLarge(digits)
    return value


def _tagged(tag: str, value: str) -> object:
    """A scalar with an explicit standard tag, read as the tag says (`!!str 4.2` is the string
    "4.2"); ValueError when the value is not of that kind."""
    kind = tag.rsplit(":", 1)[-1]
    if kind in ("str", "timestamp"):  # dates are ISO text in this format
        return value
    if kind == "binary":
        try:
            return base64.b64decode("".join(value.split()), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ValueError("`!!binary` is not base64 of UTF-8 text") from None
    resolved = _plain(value)
    wanted = {"int": int, "float": (int, float), "bool": bool, "null": type(None)}[kind]
    if (isinstance(resolved, bool) and kind != "bool") or not isinstance(resolved, wanted):
        raise ValueError(f"`!!{kind}` on a value that is not one: {value[:40]!r}")
    return float(resolved) if kind == "float" else resolved


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
            try:
                if node.tag == _PLAIN:  # untagged and plain: the YAML 1.2 core schema decides
                    return _plain(node.value)
                if node.tag in _STRING_TAGS:
                    return node.value
                if node.tag in _IMPLICIT or node.tag == _BINARY:
                    return _tagged(node.tag, node.value)
            except NumberTooLarge as e:
                raise self.fail(node, e.message, path) from None
            except ValueError as e:
                raise self.fail(node, str(e), path) from None
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
_BINARY = "tag:yaml.org,2002:binary"
_PLAIN = "dpmsmt:plain"  # what `_TagLoader` gives an untagged plain scalar


class _TagLoader(_Loader):  # type: ignore[misc, valid-type]
    """The loader with untagged plain scalars marked as such: PyYAML gives `4.2` and `!!str 4.2`
    the same node otherwise, and YAML 1.2 resolves them apart (`_Walker`)."""

    def resolve(self, kind, value, implicit):
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)


class YamlLocator:
    """Finds the line and column of a document path in the composed node tree."""

    def __init__(self, root):
        self.root = root
        self._index: dict[int, dict[str, tuple]] = {}

    def __call__(
        self, path: tuple, key: bool = False, at_key: bool = False
    ) -> tuple[int, int, int]:
        """(line, column, how many parts of `path` exist). With `at_key`, a mapping or sequence
        is located at its key, so a definition points at `NAME:` and a value reached through an
        alias at the alias's own key, not the anchor's (findings use this)."""
        node, knode, depth = self.root, None, 0
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
            depth += 1
        collection = at_key and isinstance(node, yaml.MappingNode | yaml.SequenceNode)
        target = knode if knode is not None and (key or collection) else node
        m = target.start_mark
        return (m.line + 1, m.column + 1, depth)


def read_yaml(text: str):
    """Parse YAML text; return (data, locator). Raises ReadFailure on bad input."""
    deep = _DEEP_FLOW.search(text)
    if deep:
        line = text.count("\n", 0, deep.start()) + 1
        col = deep.start() - (text.rfind("\n", 0, deep.start()) + 1) + 1
        raise ReadFailure(line, col, (), f"nesting deeper than {MAX_DEPTH} levels is refused")
    odd_first = _odd_first_characters()
    if odd_first is not None:
        try:
            fast = _read_events(text, odd_first)
        except Exception:  # anything unusual: the careful way below says what it is
            fast = None
        if fast is not None:
            return fast
    return _read_composed(text)


def _read_composed(text: str):
    try:
        root = yaml.compose(text, Loader=_TagLoader)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = e.problem or str(e)
        if e.context and e.context not in problem:
            problem = f"{e.context}: {problem}"
        if mark and text[mark.index : mark.index + 1] == "\t":
            problem = "a tab character where YAML expects spaces: YAML indents with spaces only"
            raise ReadFailure(line, col, (), problem) from None
        raise ReadFailure(line, col, (), f"YAML syntax error: {problem}") from None
    except RecursionError:
        raise ReadFailure(1, 1, (), f"nesting deeper than {MAX_DEPTH} levels is refused") from None
    except yaml.reader.ReaderError as e:
        line, col = _offset_position(text, e.position)
        what = f"#x{ord(e.character):04x}" if isinstance(e.character, str) else repr(e.character)
        raise ReadFailure(
            line, col, (), f"control characters are not allowed in YAML ({what})"
        ) from None
    except yaml.YAMLError as e:
        message = " ".join(str(e).split())
        raise ReadFailure(1, 1, (), f"YAML error: {message}") from None
    if root is None:
        raise ReadFailure(1, 1, (), "the file is empty: expected a mapping with `dpmsmt: 1`")
    walker = _Walker(track_aliases="&" in text)
    data = walker.walk(root, (), 1)
    return data, YamlLocator(root)


# -- the fast pass over libyaml's events ----------------------------------------------------------


def _odd_first_characters() -> frozenset[str] | None:
    """First characters of plain scalars that the loader's resolver may tag with something else
    than the tags `_Walker` reads as plain (`<<` is a merge key, `=` a value key), from its
    current tables; None when the resolver is not the table-driven one we know (then the fast
    pass is not used)."""
    resolvers = getattr(_Loader, "yaml_implicit_resolvers", None)
    if (
        not isinstance(resolvers, dict)
        or getattr(_Loader, "yaml_path_resolvers", None)
        or _Loader.resolve is not yaml.resolver.Resolver.resolve
        or _Loader.DEFAULT_SCALAR_TAG not in _STRING_TAGS
        or any(tag not in _IMPLICIT for tag, _ in resolvers.get(None, ()))
    ):
        return None
    return frozenset(
        first for first, pairs in resolvers.items() if any(tag not in _IMPLICIT for tag, _ in pairs)
    )


class _GiveUp(Exception):
    """The fast pass met something it leaves to the careful way."""


class IndexLocator:
    """Finds the line and column of a document path in the index the fast pass made.

    The index is flat, one entry per node in document order (node 0 is the root): where it
    starts (`line << 32 | column`), where its subtree ends (the next node after it: positive for
    a mapping, negative for a sequence, 0 for a scalar), and for an entry of a mapping its key
    and where the key starts (-1 otherwise). Arrays of machine integers keep it at about 32
    bytes a node, and give the garbage collector nothing to traverse.
    """

    def __init__(self, pos: array, end: array, keys: list, kpos: array):
        self.pos, self.end, self.keys, self.kpos = pos, end, keys, kpos
        self._children: dict[int, dict | list] = {}  # node -> its children, once asked for

    def _child(self, node: int, part):
        """The node at `part` below `node`, or None."""
        end = self.end[node]
        if end > 0:
            if not isinstance(part, str):
                return None
        elif end < 0:
            if not isinstance(part, int) or part < 0:
                return None
        else:
            return None
        children = self._children.get(node)
        if children is None:
            ends, stop = self.end, abs(end)
            ids = []
            x = node + 1
            while x < stop:
                ids.append(x)
                e = ends[x]
                x = abs(e) if e else x + 1
            if end > 0:
                keys = self.keys
                children = {}
                for x in ids:
                    children.setdefault(keys[x], x)
            else:
                children = ids
            self._children[node] = children
        if end > 0:
            return children.get(part)
        return children[part] if part < len(children) else None

    def __call__(
        self, path: tuple, key: bool = False, at_key: bool = False
    ) -> tuple[int, int, int]:
        """(line, column, how many parts of `path` exist), as `YamlLocator`."""
        node, depth = 0, 0
        for part in path:
            child = self._child(node, part)
            if child is None:
                break
            node, depth = child, depth + 1
        kpos = self.kpos[node]
        use_key = kpos >= 0 and (key or (at_key and self.end[node] != 0))
        return (*_at(kpos if use_key else self.pos[node]), depth)


def _offset_position(text: str, offset: int) -> tuple[int, int]:
    offset = max(0, min(offset, len(text)))
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _at(pos: int) -> tuple[int, int]:
    return (pos >> 32) + 1, (pos & 0xFFFFFFFF) + 1


def _read_events(text: str, odd_first: frozenset[str]):
    """Data and an `IndexLocator` for the plain documents described above; None (or `_GiveUp`)
    for anything else. Builds exactly what `_read_composed` builds for them."""
    loader = _Loader(text)
    try:
        get = loader.get_event
        get()  # StreamStartEvent
        if type(get()) is not DocumentStartEvent:
            return None  # empty stream
        found = _read_document(get, odd_first)
        if type(get()) is not StreamEndEvent:
            return None  # another document
        return found
    finally:
        loader.dispose()


def _read_document(get, odd_first: frozenset[str]):
    """One document's events as data and an `IndexLocator` (None: empty); all in locals."""
    pos, end, keys, kpos = array("q"), array("q"), [], array("q")
    add_pos, add_end, add_key, add_kpos = pos.append, end.append, keys.append, kpos.append
    plain, intern = _plain, sys.intern
    # The document is item 0 of a pseudo sequence at depth 0, node -1.
    top: list = []
    out, is_map, key, key_at, node = top, False, None, -1, -1
    depth, stack = 0, []
    while True:
        ev = get()
        kind = type(ev)
        if kind is ScalarEvent:
            if ev.tag is not None or ev.anchor is not None:
                raise _GiveUp
            at = (ev.start_mark.line << 32) | ev.start_mark.column
            value = ev.value
            if is_map and key is None:
                if value in out:
                    raise _GiveUp  # a duplicate key
                key, key_at = intern(value), at
                continue
            if depth >= MAX_DEPTH:
                raise _GiveUp
            if not ev.style:
                if value[:1] in odd_first:
                    raise _GiveUp
                value = plain(value)
            opened = False
        elif kind is MappingStartEvent or kind is SequenceStartEvent:
            if ev.tag is not None or ev.anchor is not None or depth >= MAX_DEPTH:
                raise _GiveUp
            if is_map and key is None:
                raise _GiveUp  # a collection as a key
            at = (ev.start_mark.line << 32) | ev.start_mark.column
            value, opened = {} if kind is MappingStartEvent else [], True
        elif kind is MappingEndEvent or kind is SequenceEndEvent:
            end[node] = len(pos) if is_map else -len(pos)
            out, is_map, node, depth = stack.pop()
            key = None
            continue
        elif kind is DocumentEndEvent:
            break
        else:  # an alias, or an event out of place
            raise _GiveUp
        add_pos(at)
        add_end(0)  # a collection's is set at its end
        if is_map:
            out[key] = value
            add_key(key)
            add_kpos(key_at)
            key = None
        else:
            out.append(value)
            add_key(None)
            add_kpos(-1)
        if opened:
            stack.append((out, is_map, node, depth))
            out, is_map, node, depth = value, kind is MappingStartEvent, len(pos) - 1, depth + 1
    return (top[0], IndexLocator(pos, end, keys, kpos)) if top else None
