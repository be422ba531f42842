"""Limits on what the reader accepts, and the failure it raises while reading."""

from __future__ import annotations

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 1_000_000


class ReadFailure(Exception):
    """Bad input found while parsing: a 1-based position, a document path and a message."""

    def __init__(self, line: int, column: int, path: tuple, message: str):
        super().__init__(message)
        self.line, self.column, self.path, self.message = line, column, path, message
