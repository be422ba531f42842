"""Golden JSON reports: `dpmsmt check … --format json` compared byte for byte with tests/golden/.

The commands run from the repository root with relative paths, so the paths in the output are as
given on the command line. After an intended change of the output, rewrite the golden files with

    DPMSMT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py

and review the diff before committing it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import dpmsmt
from dpmsmt import cli

REPO = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("DPMSMT_UPDATE_GOLDEN") == "1"

# golden file -> (command line, exit code)
CASES = {
    "version-match.json": (["check", "models/bad/version-match.yaml", "--format", "json"], 1),
    # a realistic estate: several findings, most of them waived; --today fixes waiver expiry
    "realistic.json": (
        ["check", "models/good/realistic.yaml", "--format", "json", "--today", "2026-11-24"],
        0,
    ),
    # the seed's first unsupported move: a change rule with its options, and an info
    "seed-scenario1.json": (
        [
            "check",
            "models/seed/scenario1-after.yaml",
            "--before",
            "models/seed/before.yaml",
            "--format",
            "json",
            "--today",
            "2026-11-24",
        ],
        1,
    ),
}


def run(capsys, argv: list[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    out = capsys.readouterr()
    assert out.err == ""
    return info.value.code, out.out


@pytest.fixture
def at_repo_root(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    return REPO


@pytest.mark.parametrize("golden", sorted(CASES))
def test_golden_json(at_repo_root, capsys, golden):
    argv, code = CASES[golden]
    got_code, out = run(capsys, argv)
    assert got_code == code
    path = GOLDEN / golden
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(out.encode("utf-8"))
    expected = path.read_bytes().decode("utf-8")
    assert out == expected, f"{golden} differs; DPMSMT_UPDATE_GOLDEN=1 rewrites it"


@pytest.mark.parametrize("golden", sorted(CASES))
def test_two_runs_are_byte_identical(at_repo_root, capsys, golden):
    argv, _ = CASES[golden]
    assert run(capsys, argv)[1] == run(capsys, argv)[1]


def test_output_does_not_depend_on_hash_seed(at_repo_root):
    """Set and dict order must not reach the output: another process, another hash seed."""
    argv, code = CASES["seed-scenario1.json"]
    # this process runs under its own (by default random) seed; the child under a fixed other one
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    done = subprocess.run(
        [sys.executable, "-m", "dpmsmt", *argv],
        cwd=REPO,
        capture_output=True,
        env={**os.environ, "PYTHONHASHSEED": seed},
        timeout=120,
    )
    assert (done.returncode, done.stderr) == (code, b"")
    assert done.stdout == (GOLDEN / "seed-scenario1.json").read_bytes()


def test_fingerprint_survives_renamed_files_moved_lines_and_case():
    """A fingerprint hashes the rule id and the entities (names case-folded), nothing else."""
    one = 'dpmsmt: 1\ndpm_servers:\n  DPM1: {version: "10.19"}\n  DPM2: {version: "10.22", protects: [DPM1]}\n'
    two = (
        "# the same estate, moved down,\n# another spelling\ndpmsmt: 1\ndpm_servers:\n"
        '  dpm2: {version: "10.22", protects: [dpm1]}\n  dpm1: {version: "10.19"}\n'
    )
    (a,) = dpmsmt.check(dpmsmt.loads(one, file="a.yaml")).findings
    (b,) = dpmsmt.check(dpmsmt.loads(two, file="b/c.yaml")).findings
    assert (a.rule, b.rule) == ("VERSION-MATCH", "VERSION-MATCH")
    assert a.location.line != b.location.line
    assert a.fingerprint == b.fingerprint
    assert re.fullmatch(r"[0-9a-f]{16}", a.fingerprint)
