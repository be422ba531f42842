"""Getting a file's text: only regular files (or `-`, standard input), bounded, decoded.

Why its own module: the topology reader and the baseline reader must refuse the same things the
same way. A pipe or a device named as a file would block a read forever (a FIFO waits for a
writer), so a named file is opened without blocking and refused unless it is a regular file; the
user's own pipe is read with `-`. Files written by Windows PowerShell 5.1's `>` are UTF-16 with a
byte order mark, so UTF-8 (with or without a BOM), UTF-16 and UTF-32 with a BOM are all read.
"""

from __future__ import annotations

import codecs
import os
import stat
import sys

from dpmsmt.io.limits import MAX_BYTES, ReadFailure

__all__ = ["STDIN", "Unreadable", "decode", "display_name", "read_bytes"]

STDIN = "-"
_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a pipe",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
}
# Longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16"),
)


class Unreadable(Exception):
    """The file cannot be read at all (no position in it to point at)."""


def display_name(path: str) -> str:
    return "<stdin>" if path == STDIN else path


def read_bytes(path: str, what: str = "file") -> bytes:
    """The bytes of `path` (`-`: standard input), at most MAX_BYTES, never blocking on a pipe."""
    if path == STDIN:
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise Unreadable(f"cannot read the {what} from standard input: there is none")
        raw = stream.read(MAX_BYTES + 1)
    else:
        raw = _read_regular(path, what)
    if len(raw) > MAX_BYTES:
        raise Unreadable(f"the {what} {display_name(path)} is larger than 64 MiB")
    return raw


def _read_regular(path: str, what: str) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        raise Unreadable(f"cannot read the {what} {path}: {e.strerror}") from None
    try:
        st = os.fstat(fd)
    except OSError as e:  # pragma: no cover - fstat of an open descriptor
        os.close(fd)
        raise Unreadable(f"cannot read the {what} {path}: {e.strerror}") from None
    kind = stat.S_IFMT(st.st_mode)
    if kind != stat.S_IFREG:
        os.close(fd)
        raise Unreadable(
            f"cannot read the {what} {path}: it is {_KINDS.get(kind, 'not a regular file')}, "
            "not a regular file (to read from a pipe, give `-` and redirect it to standard "
            "input)"
        )
    with os.fdopen(fd, "rb") as fh:
        if st.st_size > MAX_BYTES:
            raise Unreadable(f"the {what} {path} is larger than 64 MiB ({st.st_size:,} bytes)")
        try:
            return fh.read(MAX_BYTES + 1)
        except OSError as e:
            raise Unreadable(f"cannot read the {what} {path}: {e.strerror}") from None


def decode(raw: bytes) -> str:
    """Text of a file: UTF-8, or UTF-8/16/32 with a byte order mark. The mark stays as U+FEFF
    at the start (the reader drops one, and refuses a second). Raises ReadFailure."""
    encoding, label = "utf-8", "UTF-8"
    for bom, name, shown in _BOMS:
        if raw.startswith(bom):
            encoding, label = name, shown
            break
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as e:
        before = raw[: e.start].decode(encoding, "replace")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        raise ReadFailure(line, col, (), f"the file is not valid {label}") from None
