"""Shared pieces of the hostile-input tests (tests/test_hostile_*.py): running the CLI in-process
and what every error line must look like (cli.md, "Exit codes")."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from dpmsmt.cli import main

MODELS = Path(__file__).resolve().parent.parent / "models"
SEED = (MODELS / "seed/before.yaml").read_text(encoding="utf-8")
# DPM1 failed, so that suggest-move has something to plan for without --fail.
SMALL = """dpmsmt: 1
dpm_servers:
  DPM1: {version: "10.19.58.0", status: failed}
  DPM2: {version: "10.19.58.0"}
  DPM3: {version: "10.19.58.0", protects: [DPM1]}
servers:
  S1:
    agent: DPM1
    datasources: [{name: 'D:\\', secondary: DPM3}]
"""
POSITIONED = re.compile(r"dpmsmt: error: (?P<file>[^\n]+?):(?P<line>\d+):(?P<col>\d+): [^\n]+\n")
# Every command that reads a topology, with the options that let it run on SMALL.
COMMANDS = {
    "check": ["check"],
    "graph": ["graph"],
    "suggest-move": ["suggest-move"],
    "design": ["design"],
    "resilience": ["resilience", "--jobs", "1", "--quiet"],
    "validate": ["validate"],
    "report": ["report", "--output", "r.html", "--jobs", "1"],
}


def run(*argv: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    """`dpmsmt ARGV` in-process: (exit code, stdout, stderr). Any exception escaping `main`
    (a traceback in real life) fails the test."""
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.ExitStack() as stack:
        stack.enter_context(contextlib.redirect_stdout(out))
        stack.enter_context(contextlib.redirect_stderr(err))
        if stdin is not None:
            import sys

            fake = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
            old = sys.stdin
            sys.stdin = fake
            stack.callback(setattr, sys, "stdin", old)
        try:
            main(list(argv))
        except SystemExit as e:
            code = e.code
    return (
        (code if isinstance(code, int) else (0 if code is None else 2)),
        out.getvalue(),
        err.getvalue(),
    )


def one_error_line(err: str) -> str:
    """The message of the single `dpmsmt: error:` line in `err` (failing otherwise)."""
    assert "Traceback" not in err, err
    assert err.startswith("dpmsmt: error: ") and err.endswith("\n"), err
    assert err.count("\n") == 1, f"more than one line: {err!r}"
    return err[len("dpmsmt: error: ") : -1]
