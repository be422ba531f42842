"""JSON text -> plain Python data, with a lazy locator for line and column of any path.

The C `json` module reads a 200k-data-source estate in a fraction of a second but gives no
positions. Positions are needed only for messages, so the locator parses the text a second time,
in Python, the first time a message asks for one; files without findings never pay for it.
"""

from __future__ import annotations

import bisect
import json
import re
from json.decoder import scanstring

from dpmsmt.io.limits import MAX_DEPTH, ReadFailure

__all__ = ["read_json"]


class _Duplicate(Exception):
    pass


def _pairs(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Duplicate
    return out


_WS = re.compile(r"[ \t\n\r]*")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


class _Node:
    __slots__ = ("children", "pos")

    def __init__(self, pos: int, children=None):
        self.pos = pos
        self.children = children  # dict key -> (key_pos, node) | list of nodes | None


class _PositionParser:
    """A small recursive-descent JSON parser that records where every value and key starts."""

    def __init__(self, text: str):
        self.text = text

    def ws(self, i: int) -> int:
        return _WS.match(self.text, i).end()

    def value(self, i: int, path: tuple, depth: int) -> tuple[_Node, int]:
        text = self.text
        if depth > MAX_DEPTH:
            raise _Failure(i, path, f"nesting deeper than {MAX_DEPTH} levels is refused")
        c = text[i : i + 1]
        if c == "{":
            children: dict = {}
            node = _Node(i, children)
            i = self.ws(i + 1)
            if text[i : i + 1] == "}":
                return node, i + 1
            while True:
                kpos = i
                key, i = scanstring(text, i + 1)
                if key in children:
                    raise _Failure(kpos, (*path, key), f"duplicate key {key!r}")
                i = self.ws(self.ws(i) + 1)  # skip ':'
                child, i = self.value(i, (*path, key), depth + 1)
                children[key] = (kpos, child)
                i = self.ws(i)
                if text[i] == ",":
                    i = self.ws(i + 1)
                    continue
                return node, i + 1
        if c == "[":
            items: list = []
            node = _Node(i, items)
            i = self.ws(i + 1)
            if text[i : i + 1] == "]":
                return node, i + 1
            while True:
                child, i = self.value(i, (*path, len(items)), depth + 1)
                items.append(child)
                i = self.ws(i)
                if text[i] == ",":
                    i = self.ws(i + 1)
                    continue
                return node, i + 1
        if c == '"':
            _, end = scanstring(text, i + 1)
            return _Node(i), end
        for literal in ("true", "false", "null"):
            if text.startswith(literal, i):
                return _Node(i), i + len(literal)
        m = _NUMBER.match(text, i)
        return _Node(i), m.end()


class _Failure(Exception):
    def __init__(self, pos: int, path: tuple, message: str):
        self.pos, self.path, self.message = pos, path, message


class JsonLocator:
    """Line and column of a document path; parses positions on first use."""

    def __init__(self, text: str):
        self.text = text
        self._root: _Node | None = None
        self._lines: list[int] | None = None

    def position(self, offset: int) -> tuple[int, int]:
        if self._lines is None:
            self._lines = [m.end() for m in re.finditer("\n", self.text)]
        line = bisect.bisect_right(self._lines, offset)
        start = self._lines[line - 1] if line else 0
        return line + 1, offset - start + 1

    def root(self) -> _Node:
        if self._root is None:
            parser = _PositionParser(self.text)
            self._root, _ = parser.value(parser.ws(0), (), 1)
        return self._root

    def __call__(self, path: tuple, key: bool = False) -> tuple[int, int] | None:
        node, kpos = self.root(), None
        for part in path:
            ch = node.children
            if isinstance(ch, dict) and isinstance(part, str) and part in ch:
                kpos, node = ch[part]
            elif isinstance(ch, list) and isinstance(part, int) and 0 <= part < len(ch):
                kpos, node = None, ch[part]
            else:
                return self.position(node.pos)
        return self.position(kpos if key and kpos is not None else node.pos)


def read_json(text: str):
    """Parse JSON text; return (data, locator). Raises ReadFailure on bad input."""
    locator = JsonLocator(text)
    try:
        data = json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as e:
        raise ReadFailure(e.lineno, e.colno, (), f"JSON syntax error: {e.msg}") from None
    except (_Duplicate, RecursionError):
        try:
            locator.root()
        except _Failure as f:
            line, col = locator.position(f.pos)
            raise ReadFailure(line, col, f.path, f.message) from None
        except RecursionError:  # pragma: no cover - deeper than our own limit catches
            pass
        raise ReadFailure(1, 1, (), f"nesting deeper than {MAX_DEPTH} levels is refused") from None
    # Typed parts of the document fail validation when they nest at all; only the free-form
    # `expect` block can nest arbitrarily, so only it is walked here (cheap on large estates).
    free = data.get("expect") if isinstance(data, dict) else data
    if _too_deep(free, 2 if isinstance(data, dict) else 1):
        try:
            locator.root()
        except _Failure as f:
            line, col = locator.position(f.pos)
            raise ReadFailure(line, col, f.path, f.message) from None
    return data, locator


def _too_deep(data, depth: int) -> bool:
    """Whether a parsed value at `depth` nests deeper than MAX_DEPTH (iterative)."""
    stack = [(data, depth)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, dict | list))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, dict | list))
    return False
