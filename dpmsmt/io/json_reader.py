"""JSON text -> plain Python data, with a lazy locator for line and column of any path.

The C `json` module reads a 200k-data-source estate in a fraction of a second but gives no
positions. Positions are needed only for messages, so the locator finds them only when a message
asks, and only along the path asked for: each object or array on the path is indexed (the offset
of every key and value) as far as needed, sibling values are skipped by the C scanner, and the
index is kept for later lookups. Files without findings never pay for it, and a handful of
findings in a large estate cost at most about one more C parse of the file.

Bad input (a duplicate key, nesting too deep) is rare and needs the first offender in document
order, which the C parser cannot give: then a small pure-Python parser reads the whole text.
"""

from __future__ import annotations

import bisect
import gc
import json
import re
from json.decoder import scanstring

from dpmsmt.io.limits import MAX_DEPTH, MAX_INT_DIGITS, NumberTooLarge, ReadFailure

__all__ = ["read_json"]


class _Duplicate(Exception):
    pass


def _pairs(pairs):
    out = dict(pairs)
    if len(out) != len(pairs):
        raise _Duplicate
    return out


_WS = re.compile(r"[ \t\n\r]*")
_ws = _WS.match
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
# Python's `json` also reads these (they are not JSON, but the C parser accepted the text).
_CONSTANTS = ("true", "false", "null", "NaN", "Infinity", "-Infinity")


# -- the full parser, for bad input only ---------------------------------------------------------


class _Failure(Exception):
    def __init__(self, pos: int, path: tuple, message: str):
        self.pos, self.path, self.message = pos, path, message


class _FullParser:
    """A small recursive-descent JSON parser that stops at the first duplicate key or at nesting
    deeper than MAX_DEPTH, in document order (only run on text that the C parser refused)."""

    def __init__(self, text: str):
        self.text = text

    def ws(self, i: int) -> int:
        return _ws(self.text, i).end()

    def value(self, i: int, path: tuple, depth: int) -> int:
        text = self.text
        if depth > MAX_DEPTH:
            raise _Failure(i, path, f"nesting deeper than {MAX_DEPTH} levels is refused")
        c = text[i : i + 1]
        if c == "{":
            seen: set = set()
            i = self.ws(i + 1)
            if text[i : i + 1] == "}":
                return i + 1
            while True:
                kpos = i
                key, i = scanstring(text, i + 1)
                if key in seen:
                    raise _Failure(kpos, (*path, key), f"duplicate key {key!r}")
                seen.add(key)
                i = self.ws(self.ws(i) + 1)  # skip ':'
                i = self.value(i, (*path, key), depth + 1)
                i = self.ws(i)
                if text[i] == ",":
                    i = self.ws(i + 1)
                    continue
                return i + 1
        if c == "[":
            n = 0
            i = self.ws(i + 1)
            if text[i : i + 1] == "]":
                return i + 1
            while True:
                i = self.value(i, (*path, n), depth + 1)
                n += 1
                i = self.ws(i)
                if text[i] == ",":
                    i = self.ws(i + 1)
                    continue
                return i + 1
        if c == '"':
            return scanstring(text, i + 1)[1]
        for literal in _CONSTANTS:
            if text.startswith(literal, i):
                return i + len(literal)
        return _NUMBER.match(text, i).end()


# -- the lazy locator ------------------------------------------------------------------------------

_scan_once = json.JSONDecoder().scan_once  # (text, index) -> (value, end index), in C
_BRACKET_OR_STRING = re.compile(r'[\[\]{}]|"(?:[^"\\]|\\.)*"', re.DOTALL)


_MARK_SPACING = 4096


class _Index:
    """What is known of one object or array: its entries up to `next`, the offset of the next
    entry to read (-1 once the closing bracket is reached)."""

    __slots__ = ("entries", "next")

    def __init__(self, entries, next: int):
        self.entries = entries  # object: key -> (key offset, value offset); array: value offsets
        self.next = next


class JsonLocator:
    """Line and column of a document path; indexes only the objects and arrays on the path."""

    def __init__(self, text: str):
        self.text = text
        self._index: dict[int, _Index] = {}  # offset of `{` or `[` -> its index
        # Known (offset, newlines before it, start of its line), sorted: line numbers are counted
        # from the nearest known offset below, so a lookup costs the distance to it.
        self._marks: list[int] = [0]
        self._marks_line: list[int] = [0]
        self._marks_start: list[int] = [0]

    def position(self, offset: int) -> tuple[int, int]:
        text = self.text
        i = bisect.bisect_right(self._marks, offset) - 1
        mark = self._marks[i]
        n = text.count("\n", mark, offset)
        line = self._marks_line[i] + n
        start = text.rfind("\n", mark, offset) + 1 if n else self._marks_start[i]
        if offset - mark > _MARK_SPACING:  # keep marks sparse: inserting stays cheap
            self._marks.insert(i + 1, offset)
            self._marks_line.insert(i + 1, line)
            self._marks_start.insert(i + 1, start)
        return line + 1, offset - start + 1

    def __call__(
        self, path: tuple, key: bool = False, at_key: bool = False
    ) -> tuple[int, int, int]:
        """(line, column, how many parts of `path` exist); `at_key` is for YAML's aliases, JSON
        has none, so values are located where they are."""
        text = self.text
        pos, kpos, depth = _ws(text, 0).end(), None, 0
        enabled = gc.isenabled()
        gc.disable()  # skipping values makes many short-lived objects and no cycles
        try:
            for part in path:
                c = text[pos : pos + 1]
                if c == "{" and isinstance(part, str):
                    found = self._member(pos, part)
                    if found is None:
                        break
                    kpos, pos = found
                elif c == "[" and isinstance(part, int) and part >= 0:
                    found = self._item(pos, part)
                    if found is None:
                        break
                    kpos, pos = None, found
                else:
                    break
                depth += 1
            if depth == len(path):
                return (*self.position(kpos if key and kpos is not None else pos), depth)
            return (*self.position(pos), depth)
        finally:
            if enabled:
                gc.enable()

    def _member(self, pos: int, name: str) -> tuple[int, int] | None:
        """(key offset, value offset) of member `name` of the object at `pos`."""
        idx = self._index.get(pos)
        if idx is None:
            i = _ws(self.text, pos + 1).end()
            idx = self._index[pos] = _Index({}, -1 if self.text[i] == "}" else i)
        entries = idx.entries
        found = entries.get(name)
        if found is not None:
            return found
        text = self.text
        i = idx.next
        while i >= 0:
            k, j = scanstring(text, i + 1)
            j = _ws(text, _ws(text, j).end() + 1).end()  # skip ':'
            end = _skip(text, j)
            if k not in entries:
                entries[k] = (i, j)
            end = _ws(text, end).end()
            i = _ws(text, end + 1).end() if text[end] == "," else -1
            idx.next = i
            if k == name:
                return entries[k]
        return None

    def _item(self, pos: int, n: int) -> int | None:
        """Value offset of item `n` of the array at `pos`."""
        idx = self._index.get(pos)
        if idx is None:
            i = _ws(self.text, pos + 1).end()
            idx = self._index[pos] = _Index([], -1 if self.text[i] == "]" else i)
        items = idx.entries
        text = self.text
        i = idx.next
        while len(items) <= n and i >= 0:
            items.append(i)
            end = _ws(text, _skip(text, i)).end()
            i = _ws(text, end + 1).end() if text[end] == "," else -1
            idx.next = i
        return items[n] if n < len(items) else None


def _skip(text: str, i: int) -> int:
    """The end of the (valid) JSON value at `i`."""
    if text[i] == '"':
        return scanstring(text, i + 1)[1]
    try:
        return _scan_once(text, i)[1]
    except RecursionError:  # a value nested too deep for the C scanner here: count brackets
        depth = 0
        for m in _BRACKET_OR_STRING.finditer(text, i):
            c = m.group()
            if c in "[{":
                depth += 1
            elif c in "]}":
                depth -= 1
                if depth == 0:
                    return m.end()
        raise  # pragma: no cover - the text was parsed, so its brackets balance


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INT_DIGITS:
        raise NumberTooLarge(digits.lstrip("-"))
    return int(digits)


_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|-?[0-9]+(?![0-9.eE])', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def read_json(text: str):
    """Parse JSON text; return (data, locator). Raises ReadFailure on bad input."""
    locator = JsonLocator(text)
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_int=_bounded_int)
    except NumberTooLarge as e:
        at = next(
            m.start()
            for m in _TOKEN.finditer(text)
            if m.group()[0] != '"' and len(m.group().lstrip("-")) > MAX_INT_DIGITS
        )
        raise ReadFailure(*locator.position(at), (), e.message) from None
    except json.JSONDecodeError as e:
        raise ReadFailure(e.lineno, e.colno, (), f"JSON syntax error: {e.msg}") from None
    except (_Duplicate, RecursionError):
        _refuse(text, locator)
        raise ReadFailure(1, 1, (), f"nesting deeper than {MAX_DEPTH} levels is refused") from None
    # Typed parts of the document fail validation when they nest at all; only the free-form
    # `expect` block can nest arbitrarily, so only it is walked here (cheap on large estates).
    free = data.get("expect") if isinstance(data, dict) else data
    if _too_deep(free, 2 if isinstance(data, dict) else 1):
        _refuse(text, locator)
    if _SURROGATE_ESCAPE.search(text):  # `\ud800` alone: text no file can hold, nor print
        _refuse_lone_surrogates(data, locator)
    return data, locator


def _refuse_lone_surrogates(data, locator: JsonLocator) -> None:
    """Raise the ReadFailure of the first key or string holding half a surrogate pair."""
    stack: list[tuple[object, tuple]] = [(data, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            for k, v in reversed(value.items()):
                if _lone_surrogate(k):
                    line, col, _ = locator((*path, k), key=True)
                    raise ReadFailure(line, col, (*path, k), _SURROGATE_MESSAGE)
                stack.append((v, (*path, k)))
        elif isinstance(value, list):
            stack.extend((v, (*path, i)) for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, str) and _lone_surrogate(value):
            line, col, _ = locator(path)
            raise ReadFailure(line, col, path, _SURROGATE_MESSAGE)


_SURROGATE_MESSAGE = "a `\\uD800`-`\\uDFFF` escape without its pair is not text (lone surrogate)"


def _lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _refuse(text: str, locator: JsonLocator) -> None:
    """Raise the ReadFailure of the first duplicate key or too deep nesting, in document order."""
    parser = _FullParser(text)
    try:
        parser.value(parser.ws(0), (), 1)
    except _Failure as f:
        line, col = locator.position(f.pos)
        raise ReadFailure(line, col, f.path, f.message) from None
    except RecursionError:  # pragma: no cover - deeper than our own limit catches
        pass


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
