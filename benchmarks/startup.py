"""How long dpmsmt takes to start: whole commands as processes, against `python -c pass`.

    python benchmarks/startup.py [--runs N]

Each command runs N times (default 7, after one warm-up) as a fresh process with the same
interpreter; the table (Markdown) gives the median wall time, the median CPU time of the child
(user + system), and the median wall time above `python -c pass` (what dpmsmt itself costs).
Targets (issue 11): `--help` under 0.25 s and `check` of the seed under 0.6 s wall.

Most of a short command's time is imports: `python -X importtime -m dpmsmt --help` shows which.
This file is not a test (pytest collects `tests/` only).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SEED = "models/seed/before.yaml"
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "dpmsmt --help": ["-m", "dpmsmt", "--help"],
    "dpmsmt --version": ["-m", "dpmsmt", "--version"],
    f"dpmsmt validate {SEED}": ["-m", "dpmsmt", "validate", SEED],
    f"dpmsmt check {SEED}": ["-m", "dpmsmt", "check", SEED],
}
TARGETS = {"dpmsmt --help": 0.25, f"dpmsmt check {SEED}": 0.6}


def _once(args: list[str]) -> tuple[float, float]:
    """(wall s, child CPU s) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(runs: int) -> list[tuple[str, float, float]]:
    """(command, median wall, median CPU) per command, the runs interleaved so that a noisy
    moment of a shared machine spreads over all commands."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in COMMANDS}
    for args in COMMANDS.values():
        _once(args)  # warm-up: the file cache, .pyc files
    for _ in range(runs):
        for name, args in COMMANDS.items():
            samples[name].append(_once(args))
    return [
        (
            name,
            statistics.median(w for w, _ in got),
            statistics.median(c for _, c in got),
        )
        for name, got in samples.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    runs = parser.parse_args().runs
    rows = measure(runs)
    floor = rows[0][1]
    print(f"{runs} runs each, medians; {sys.executable} {sys.version.split()[0]}\n")
    print("| command | wall s | CPU s | wall above python -c pass | target |")
    print("|---|---:|---:|---:|---|")
    for name, wall, cpu in rows:
        target = TARGETS.get(name)
        verdict = "" if target is None else f"< {target} ({'met' if wall < target else 'MISSED'})"
        print(f"| {name} | {wall:.3f} | {cpu:.3f} | {wall - floor:.3f} | {verdict} |")


if __name__ == "__main__":
    main()
