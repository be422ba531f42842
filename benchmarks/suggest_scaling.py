"""How long suggest-move takes for one failed DPM server, as the estate grows.

    python benchmarks/suggest_scaling.py [--sizes small|all|300x200000,...] [--top 1]

For each size it generates an estate (benchmarks/estates.py, fixed seed, no injected violations),
writes it as JSON, and in a fresh process loads it, then runs suggest-move with the primary DPM
server whose load is closest to 1/100 of the data sources failed. It prints a Markdown table:
load time, the time to the ranked plans (`synthesize`), how many data sources and protected
servers the failure affects, the number of groups the optimizer counts, and peak memory.
Target (issue): under 2 s for the first plan at 200k data sources.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

SIZES = {
    "small": [(10, 1_000), (30, 10_000)],
    "all": [(10, 1_000), (30, 10_000), (100, 30_000), (300, 200_000)],
}

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, {root!r})
import dpmsmt
from dpmsmt.recovery import synthesize
from dpmsmt.encode import View
t0 = time.perf_counter()
topology = dpmsmt.load({path!r})
t1 = time.perf_counter()
loads = View(topology, topology.profile).datasource_load
primary = {{}}
for s in topology.servers.values():
    for ds in s.datasources:
        if ds.primary:
            primary[ds.primary] = primary.get(ds.primary, 0) + 1
n_ds = sum(primary.values())
target = min(sorted(primary), key=lambda d: abs(primary[d] - n_ds / 100))
t2 = time.perf_counter()
result = synthesize(topology, failed=[target], top={top})
t3 = time.perf_counter()
affected_servers = sum(1 for s in topology.servers.values() if any(ds.primary == target for ds in s.datasources))
print(json.dumps({{
    "load_s": t1 - t0, "suggest_s": t3 - t2, "failed": target, "affected_ds": primary[target],
    "affected_servers": affected_servers, "plans": len(result.plans),
    "complete": result.complete, "optimal": result.optimal,
    "first_cost": result.plans[0].cost if result.plans else None,
    "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
}}))
"""


def parse_sizes(text: str) -> list[tuple[int, int]]:
    if text in SIZES:
        return SIZES[text]
    return [tuple(int(x) for x in part.split("x")) for part in text.split(",")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="all")
    ap.add_argument("--top", type=int, default=1)
    args = ap.parse_args(argv)
    from estates import generate, write

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_dpm, n_ds in parse_sizes(args.sizes):
            path = Path(tmp) / f"estate-{n_dpm}-{n_ds}.json"
            write(generate(n_dpm, n_ds, seed=0, violations=0), path)
            t = time.perf_counter()
            out = subprocess.run(
                [sys.executable, "-c", CHILD.format(root=str(ROOT), path=str(path), top=args.top)],
                capture_output=True,
                text=True,
                check=False,
            )
            if out.returncode != 0:
                print(out.stderr, file=sys.stderr)
                return 1
            row = json.loads(out.stdout.strip().splitlines()[-1])
            row.update(dpm=n_dpm, ds=n_ds, wall_s=time.perf_counter() - t)
            rows.append(row)
            print(f"  {n_dpm} DPM / {n_ds} ds done in {row['wall_s']:.1f} s", file=sys.stderr)
    print(
        "| DPM servers | data sources | failed | affected ds | affected servers | load s | suggest s (top "
        f"{args.top}) | plans | complete | peak MB |"
    )
    print("|--:|--:|---|--:|--:|--:|--:|--:|---|--:|")
    for r in rows:
        print(
            f"| {r['dpm']} | {r['ds']:,} | {r['failed']} | {r['affected_ds']} | {r['affected_servers']} | "
            f"{r['load_s']:.2f} | {r['suggest_s']:.2f} | {r['plans']} | {r['complete']} | {r['peak_mb']:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
