"""How `dpmsmt report` scales: seconds to write the page, its size, and how fast Chromium opens it.

    python benchmarks/report_scaling.py [--sizes small|all|10x1000,...] [--failures K] [--json]

For each size a synthetic estate (benchmarks/estates.py, fixed seed, 5 injected errors) is written
to a temporary folder; then:

- `report s`: `python -m dpmsmt report ESTATE --output page.html --today 2026-12-01` in a fresh
  process, wall time (reading the file, check, the page; Graphviz where the estate is drawn);
- `MB`: the page's size (MiB);
- `open s`: Debian's headless Chromium (Playwright) loads the page from disk with the network
  off: the navigation's `loadEventEnd` (parsing, style, layout, first paint included), in a fresh
  browser context;
- `accepted`: the browser checks of tests/report_dom.py against `check --format json` (no request
  leaves the page, no console error, the counts are check's, every finding row links to its rule).

Without Chromium or Playwright the browser columns say so. Progress goes to stderr, the Markdown
table (or, with `--json`, the rows) to stdout. Exit 1 when a page is not accepted, is 10 MB or
more, or takes 3 s or more to open. Not a test: pytest collects tests/ only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(REPO / "tests"))

import estates  # noqa: E402  (benchmarks/ is not a package)
import report_dom  # noqa: E402

SIZES = {
    "small": [(10, 1_000), (30, 10_000)],
    "all": [(10, 1_000), (30, 10_000), (100, 30_000), (300, 200_000)],
}
TODAY = "2026-12-01"
MAX_MB, MAX_OPEN_S = 10.0, 3.0


def _sizes(text: str) -> list[tuple[int, int]]:
    if text in SIZES:
        return SIZES[text]
    out = []
    for part in text.split(","):
        dpm, ds = part.lower().split("x")
        out.append((int(dpm), int(ds)))
    return out


def _dpmsmt(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "dpmsmt", *argv], capture_output=True, text=True, cwd=REPO
    )


def measure(n_dpm: int, n_ds: int, folder: Path, failures: int | None, browser) -> dict:
    estate = estates.write(estates.generate(n_dpm, n_ds, seed=0, violations=5), folder / "e.yaml")
    page = folder / f"report-{n_dpm}.html"
    argv = ["report", str(estate), "--output", str(page), "--today", TODAY, "--force"]
    if failures:
        argv += ["--failures", str(failures)]
    start = time.perf_counter()
    done = _dpmsmt(*argv)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"dpmsmt report failed ({done.returncode}): {done.stderr.strip()}")
    row = {
        "dpm": n_dpm,
        "datasources": n_ds,
        "report_s": round(seconds, 2),
        "mb": round(page.stat().st_size / 2**20, 2),
        "open_s": None,
        "accepted": None,
    }
    if browser is not None:
        expected = json.loads(
            _dpmsmt("check", str(estate), "--format", "json", "--today", TODAY).stdout
        )
        session = report_dom.Session(browser)
        try:
            opened = session.open(page)
            timing = opened.page.evaluate(
                "performance.getEntriesByType('navigation')[0].loadEventEnd"
            )
            row["open_s"] = round(timing / 1000, 2)
            bad = report_dom.problems(opened, expected)
            row["accepted"] = not bad
            for b in bad:
                print(f"  {n_dpm} DPM: {b}", file=sys.stderr)
        finally:
            session.close()
    return row


def table(rows: list[dict], why_not: str | None) -> str:
    out = [
        "| estate | report s | page MB | open s | browser checks |",
        "|---|--:|--:|--:|---|",
    ]
    for r in rows:
        open_s = "–" if r["open_s"] is None else f"{r['open_s']:.2f}"
        verdict = why_not or ("accepted" if r["accepted"] else "NOT accepted")
        out.append(
            f"| {r['dpm']} DPM / {r['datasources']:,} | {r['report_s']:.2f} | {r['mb']:.2f} "
            f"| {open_s} | {verdict} |"
        )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="small", help="small, all, or 10x1000,30x10000")
    ap.add_argument("--failures", type=int, default=None, help="add resilience (slow)")
    ap.add_argument("--json", action="store_true", help="rows as JSON")
    args = ap.parse_args(argv)
    why_not = report_dom.why_no_browser()
    rows = []
    with tempfile.TemporaryDirectory(prefix="dpmsmt-report-") as tmp:
        if why_not is None:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as p:
                browser = report_dom.launch(p)
                for n_dpm, n_ds in _sizes(args.sizes):
                    print(f"{n_dpm} DPM / {n_ds} data sources …", file=sys.stderr)
                    rows.append(measure(n_dpm, n_ds, Path(tmp), args.failures, browser))
                browser.close()
        else:
            print(f"no browser: {why_not}", file=sys.stderr)
            for n_dpm, n_ds in _sizes(args.sizes):
                rows.append(measure(n_dpm, n_ds, Path(tmp), args.failures, None))
    sys.stdout.write(json.dumps(rows, indent=2) + "\n" if args.json else table(rows, why_not))
    bad = [
        r
        for r in rows
        if r["mb"] >= MAX_MB or r["accepted"] is False or (r["open_s"] or 0) >= MAX_OPEN_S
    ]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
