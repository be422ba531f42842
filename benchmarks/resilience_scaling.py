"""How long `dpmsmt resilience` takes for K = 1 and K = 2 as the estate grows.

    python benchmarks/resilience_scaling.py [--sizes small|all|100x30000,...] [--failures 2]
                                            [--jobs N] [--timeout S]

For each size it generates an estate (benchmarks/estates.py, fixed seed, no injected violations),
writes it as JSON, loads it, and runs the resilience analysis up to `--failures` (default 2) with
`--jobs` worker processes. The sets of size 1 are answered first (they are the K = 1 run), then
the pairs, so one run gives both rows. It prints a Markdown table per K: the failure sets, how
many were solved and how many derived without a solver (irrelevant servers, independent
failures), and the seconds, both for that round alone and cumulatively (what `--failures K`
costs); then, per size, how many sets' plans are complete and whether the solver gave up.
`all` is 100 DPM servers / 30k data sources and 300 / 200k (long: every single failure is one
suggest-move); `small` is 10 / 1k and 20 / 3k.

`--count-only` answers the sets up to K - 1 and only classifies those of size K: how many would
be derived and how many solved (exact for K = 2, whose parts are single failures), without
solving them; their seconds are then blank.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

SIZES = {
    "small": [(10, 1_000), (20, 3_000)],
    "all": [(100, 30_000), (300, 200_000)],
}


def parse_sizes(text: str) -> list[tuple[int, int]]:
    if text in SIZES:
        return SIZES[text]
    return [tuple(int(x) for x in part.split("x")) for part in text.split(",")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", default="all")
    ap.add_argument("--failures", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--count-only", action="store_true")
    args = ap.parse_args(argv)
    if args.count_only and args.failures < 2:
        ap.error("--count-only needs --failures 2 or more")
    from estates import generate, write

    import dpmsmt
    from dpmsmt.resilience import resilience

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n_dpm, n_ds in parse_sizes(args.sizes):
            path = Path(tmp) / f"estate-{n_dpm}-{n_ds}.json"
            write(generate(n_dpm, n_ds, seed=0, violations=0), path)
            t0 = time.perf_counter()
            topology = dpmsmt.load(path)
            load_s = time.perf_counter() - t0

            def progress(done, total, label=f"{n_dpm} DPM / {n_ds} ds"):
                print(f"\r  {label}: {done}/{total} sets", end="", file=sys.stderr, flush=True)

            t1 = time.perf_counter()
            solve_up_to = args.failures - 1 if args.count_only else args.failures
            result = resilience(
                topology,
                failures=max(1, solve_up_to),
                jobs=args.jobs,
                timeout=args.timeout,
                progress=progress,
            )
            total_s = time.perf_counter() - t1
            print(f" done in {total_s:.1f} s", file=sys.stderr)
            rounds = list(result.rounds)
            if args.count_only:
                rounds = [*rounds[:solve_up_to], classify(topology, result, args.failures)]
            cumulative = 0.0
            for r in rounds:
                cumulative += r.seconds
                rows.append(
                    {
                        "dpm": n_dpm,
                        "ds": n_ds,
                        "k": r.size,
                        "sets": r.sets,
                        "solved": r.solved,
                        "derived": r.derived,
                        "round_s": r.seconds,
                        "cumulative_s": cumulative,
                        "load_s": load_s,
                        "complete": sum(
                            1 for s in result.sets if len(s.failed) == r.size and s.complete
                        ),
                        "unknown": sum(
                            1 for s in result.sets if len(s.failed) == r.size and not s.optimal
                        ),
                    }
                )
    print(f"jobs {args.jobs}, timeout {args.timeout:g} s per set\n")
    print(
        "| DPM servers | data sources | K | sets | solved | derived | seconds (this K) "
        "| seconds (--failures K) | complete | solver gave up |"
    )
    print("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rows:
        counted = r["round_s"] != r["round_s"]  # NaN: classified, not solved
        secs = " | " if counted else f"{r['round_s']:.1f} | {r['cumulative_s']:.1f}"
        done = "(not solved) | " if counted else f"{r['complete']:,} | {r['unknown']}"
        print(
            f"| {r['dpm']} | {r['ds']:,} | {r['k']} | {r['sets']:,} | {r['solved']:,} | "
            f"{r['derived']:,} | {secs} | {done} |"
        )
    print()
    print(json.dumps(rows, indent=None))
    return 0


def classify(topology, result, k):
    """The sets of size k: how many would be derived from the answers so far, how many solved."""
    import itertools

    from dpmsmt.resilience import Answers, Estate, Round, derive

    estate = Estate.of(topology)
    answers = Answers(estate, result.sets)
    n = derived = 0
    for failed in itertools.combinations(estate.candidates, k):
        n += 1
        if derive(answers, failed) is not None:
            derived += 1
    return Round(k, n, n - derived, derived, float("nan"))


if __name__ == "__main__":
    sys.exit(main())
