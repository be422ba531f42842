"""What a name in a topology file may hold, and how text from a file is shown in messages.

Names identify Windows computers, volumes, databases and protection groups, and end up in error
lines, reports and the PowerShell steps of plans. A newline in one would forge a second
`dpmsmt: error:` line, an escape sequence would drive the terminal, a bidirectional override
would show a name other than the one that is there. So names are printable text: no control
characters (NUL, newline, tab, escape …), no invisible formatting characters (bidirectional
overrides, zero-width characters, byte order marks), no line or paragraph separators, not
empty, and bounded in length. Free text (a description, a waiver's reason) may hold line breaks
and tabs, nothing else of the kind.
"""

from __future__ import annotations

import unicodedata

__all__ = ["MAX_LONG_NAME", "MAX_NAME", "name_problem", "shown", "text_problem"]

MAX_NAME = 255  # a fully qualified domain name is at most 253 characters
MAX_LONG_NAME = 1024  # data sources and protection groups: paths, SQL and SharePoint names
_FORBIDDEN = frozenset(("Cc", "Cf", "Cs", "Zl", "Zp"))
_FREE_TEXT_BREAKS = frozenset("\t\n\r")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\x00": "\\0"}
WHAT_IS_ALLOWED = (
    "names are printable text (letters, digits, punctuation, spaces), without control or "
    "invisible formatting characters"
)


def _bad_character(text: str, allowed: frozenset[str] = frozenset()) -> tuple[int, str] | None:
    if text.isprintable():  # fast: true for every ordinary name
        return None
    for i, c in enumerate(text):
        if c not in allowed and unicodedata.category(c) in _FORBIDDEN:
            return i, c
    return None


def name_problem(name: str, limit: int = MAX_NAME) -> str | None:
    """Why `name` cannot be a name (a sentence to follow "<what> <name>: "), or None."""
    if not name.strip():
        return f"a name may not be empty or only spaces ({WHAT_IS_ALLOWED})"
    if len(name) > limit:
        return f"a name has at most {limit:,} characters, this one has {len(name):,}"
    bad = _bad_character(name)
    if bad is not None:
        i, c = bad
        return f"{WHAT_IS_ALLOWED}; character {i + 1} is {_escape(c)} ({_char_name(c)})"
    return None


def text_problem(text: str) -> str | None:
    """Why free text (descriptions, reasons) cannot be read, or None: line breaks and tabs are
    fine, other control and invisible formatting characters are not."""
    bad = _bad_character(text, _FREE_TEXT_BREAKS)
    if bad is None:
        return None
    i, c = bad
    return (
        f"text may hold line breaks and tabs but no other control or invisible formatting "
        f"characters; character {i + 1} is {_escape(c)} ({_char_name(c)})"
    )


def _char_name(c: str) -> str:
    name = unicodedata.name(c, "")
    return name.lower() if name else f"U+{ord(c):04X}"


def _escape(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def shown(text: str, limit: int = 80) -> str:
    """`text` as a message may show it: control and invisible characters escaped (`\\n`,
    `\\x1b`, `\\u202e`), and cut to `limit` characters with an ellipsis."""
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if _bad_character(text) is None:
        return text
    return "".join(_escape(c) if unicodedata.category(c) in _FORBIDDEN else c for c in text)
