"""How long `--format ps1` takes to write the first plan's runbook, as the estate grows.

    python benchmarks/runbook_scaling.py [--sizes small|all|300x200000,...]

For each size it generates an estate (benchmarks/estates.py, fixed seed, no injected violations),
fails the primary DPM server whose load is closest to 1/100 of the data sources (as
suggest_scaling.py does), finds the best plan, and times `render_ps1` on it alone. It prints a
Markdown table: actions, steps, script size, render time, and the suggest-move time for scale.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

SIZES = {
    "small": [(10, 1_000), (30, 10_000)],
    "all": [(10, 1_000), (30, 10_000), (100, 30_000), (300, 200_000)],
}


def measure(n_dpm: int, n_ds: int) -> dict:
    import json

    from estates import generate

    import dpmsmt
    from dpmsmt.recovery import synthesize
    from dpmsmt.render.ps1 import render_ps1
    from dpmsmt.runbook import build_runbook

    doc = generate(n_dpm, n_ds, seed=0, violations=0)
    topology = dpmsmt.loads(json.dumps(doc), format="json", file=f"{n_dpm}x{n_ds}.json")
    primary: dict[str, int] = {}
    for ds in topology.datasources():
        if ds.primary:
            primary[ds.primary] = primary.get(ds.primary, 0) + 1
    total = sum(primary.values())
    target = min(sorted(primary), key=lambda d: abs(primary[d] - total / 100))
    t0 = time.perf_counter()
    result = synthesize(topology, failed=[target], top=1)
    t1 = time.perf_counter()
    plan = result.plans[0]
    text = render_ps1(plan, topology, failed=result.failed)
    t2 = time.perf_counter()
    steps = len(build_runbook(plan, topology, failed=result.failed).steps)
    return {
        "size": f"{n_dpm} x {n_ds:,}",
        "actions": len(plan.actions),
        "steps": steps,
        "kb": len(text.encode("utf-8")) / 1024,
        "render_s": t2 - t1,
        "suggest_s": t1 - t0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="small")
    args = parser.parse_args(argv)
    if args.sizes in SIZES:
        sizes = SIZES[args.sizes]
    else:
        sizes = [tuple(int(x) for x in s.split("x")) for s in args.sizes.split(",")]
    print(
        "| estate (DPM x data sources) | actions | steps | script KiB | render s | suggest-move s |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for n_dpm, n_ds in sizes:
        r = measure(n_dpm, n_ds)
        print(
            f"| {r['size']} | {r['actions']} | {r['steps']} | {r['kb']:.0f} | "
            f"{r['render_s']:.2f} | {r['suggest_s']:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
