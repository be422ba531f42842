"""How `dpmsmt import` scales, against `dpmsmt check` of the same estate written as YAML.

    python benchmarks/import_scaling.py [--sizes small|all|10x1000,...]

For each size, a synthetic estate (benchmarks/estates.py, no injected violations) is written
as one YAML file and as the export set its DPM servers would give (benchmarks/export_sets.py,
one JSON file per DPM server). Then, each command in a fresh process (the CLI, as an
administrator runs it):

- check: `dpmsmt check estate.yaml` (the baseline);
- import: `dpmsmt import exports/*.json --output imported.yaml`;
- import, check: import, then `dpmsmt check imported.yaml` (the administrator's path);
- CLI ratio: import, then check, over check (CPU time).

and in one Python process each (the API): `check(load(estate.yaml))` against
`check(import_exports(exports)[0])` (API ratio, CPU time). The goal: importing and checking
under 2x checking alone, at 300 DPM servers / 200k data sources.

Both wall time and CPU time (user + system of the child) are shown: the machine may be shared,
and CPU time is what the work costs. The Markdown table goes to stdout, progress to stderr.
This file is not a test (pytest collects `tests/` only).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import estates  # noqa: E402
import export_sets  # noqa: E402

SIZES = {
    "small": [(10, 1_000), (30, 10_000)],
    "all": [(10, 1_000), (30, 10_000), (100, 30_000), (300, 200_000)],
}


# One process each: `dpmsmt.check(dpmsmt.load(estate.yaml))` against
# `dpmsmt.check(dpmsmt.import_exports(exports)[0])`; exit 1 when the verdict is invalid.
API_CHECK = (
    "import sys, dpmsmt; sys.exit(dpmsmt.check(dpmsmt.load(sys.argv[1])).verdict != 'valid')"
)
API_IMPORT_CHECK = (
    "import sys, dpmsmt; t = dpmsmt.import_exports(sys.argv[1:])[0]; "
    "sys.exit(dpmsmt.check(t).verdict != 'valid')"
)


def run(args: list[str]) -> tuple[float, float, int]:
    """(wall s, CPU s, exit code) of one command in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        sys.exit(f"{' '.join(args[:3])}...: exit {done.returncode}: {done.stderr.decode()[-500:]}")
    return wall, cpu, done.returncode


def measure(n_dpm: int, n_ds: int, folder: Path) -> dict:
    doc = estates.generate(n_dpm, n_ds, seed=0, violations=0)
    estate = folder / "estate.yaml"
    estates.write(doc, str(estate))
    paths = export_sets.write_export_set(doc, folder / "exports")
    dpmsmt = [sys.executable, "-m", "dpmsmt"]
    imported = folder / "imported.yaml"
    check = run([*dpmsmt, "check", str(estate)])
    imp = run([*dpmsmt, "import", *map(str, paths), "--output", str(imported), "--force"])
    check_imported = run([*dpmsmt, "check", str(imported)])
    api_check = run([sys.executable, "-c", API_CHECK, str(estate)])
    api_both = run([sys.executable, "-c", API_IMPORT_CHECK, *map(str, paths)])
    return {
        "size": f"{n_dpm} x {n_ds:,}",
        "exports MB": sum(p.stat().st_size for p in paths) / 2**20,
        "check s": check[0],
        "import s": imp[0],
        "import, check s": imp[0] + check_imported[0],
        "CLI ratio (cpu)": (imp[1] + check_imported[1]) / check[1],
        "API check cpu s": api_check[1],
        "API import+check cpu s": api_both[1],
        "API ratio (cpu)": api_both[1] / api_check[1],
        "same verdict": check[2] == check_imported[2] == api_both[2],
    }


def table(rows: list[dict]) -> str:
    heads = list(rows[0])
    out = ["| " + " | ".join(heads) + " |", "|" + "---|" * len(heads)]
    for r in rows:
        cells = [f"{v:.2f}" if isinstance(v, float) else str(v) for v in r.values()]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small")
    ns = parser.parse_args()
    sizes = SIZES.get(ns.sizes) or [tuple(map(int, s.split("x"))) for s in ns.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_dpm, n_ds in sizes:
            print(f"measuring {n_dpm} x {n_ds} ...", file=sys.stderr, flush=True)
            folder = Path(tmp) / f"{n_dpm}x{n_ds}"
            folder.mkdir()
            rows.append(measure(n_dpm, n_ds, folder))
    print(f"dpmsmt import vs check ({os.cpu_count()} CPUs)\n")
    print(table(rows))
    return 0 if all(r["same verdict"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
