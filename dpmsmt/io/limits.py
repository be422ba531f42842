"""Limits on what the reader accepts, and the failure it raises while reading."""

from __future__ import annotations

from dpmsmt.findings import LoadError, TopologyError
from dpmsmt.model import format_path

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 1_000_000
MAX_INT_DIGITS = 18  # integers below 10**18: every count and number a topology needs


class NumberTooLarge(ValueError):
    """An integer literal beyond MAX_INT_DIGITS digits (the reader says where)."""

    def __init__(self, digits: str):
        super().__init__(digits)
        n = sum(c.isalnum() for c in digits)
        self.message = f"a number of {n:,} digits is too large (at most {MAX_INT_DIGITS} digits)"


class ReadFailure(Exception):
    """Bad input found while parsing: a 1-based position, a document path and a message."""

    def __init__(self, line: int, column: int, path: tuple, message: str):
        super().__init__(message)
        self.line, self.column, self.path, self.message = line, column, path, message

    def error(self, file: str) -> TopologyError:
        """The `TopologyError` that reports this failure in `file`."""
        return TopologyError(
            [LoadError(file, self.line, self.column, format_path(self.path), self.message)]
        )
