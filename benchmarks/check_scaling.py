"""How dpmsmt's read and Z3 check scale with the estate, against a plain-Python scan.

    python benchmarks/check_scaling.py [--sizes small|all|10x1000,...] [--formats json,yaml] [--json]

For each size and format, a synthetic estate (benchmarks/estates.py) is written to a temporary
directory; then each measurement runs in a FRESH Python subprocess, so that its peak memory
(`ru_maxrss` of the child) is honest:

- dpmsmt: `dpmsmt.load(path)` (read s), then `dpmsmt.check(topology)` (check s, the Z3 path);
- reference: the same `dpmsmt.load(path)` (ref read s), then
  `tests.reference.reference_check(topology)` (ref check s, the plain-Python checker);
- baseline: PyYAML's C loader `yaml.load(text, Loader=yaml.CSafeLoader)` for YAML, `json.load`
  for JSON (file reading included), the denominator of the read ratio.

Imports (Z3, PyYAML) are outside the timings; peak MB includes the interpreter and the imports.
MB are MiB. The table (Markdown) or, with `--json`, the rows as a JSON list go to stdout; progress
goes to stderr. The finding counts of dpmsmt and the reference should agree, per rule id; the
`expected` column is the number of findings the generator's `expect` block predicts. The exit
code is 1 when they disagree or a measurement failed, 2 when a part (dpmsmt.load, dpmsmt.check,
tests.reference) is missing, else 0.

This file is not a test (pytest collects `tests/` only).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import estates  # noqa: E402  (benchmarks/ is not a package)

SIZES = {
    "small": [(10, 1_000), (30, 10_000)],
    "all": [(10, 1_000), (30, 10_000), (100, 30_000), (300, 200_000)],
}
MARK = "@@check_scaling@@ "

# The child: python -c CHILD MODE PATH REPO. Prints one line MARK + JSON.
CHILD = r"""
import gc, json, resource, sys, time, traceback
mode, path, repo = sys.argv[1:4]
sys.path.insert(0, repo)
MARK = "@@check_scaling@@ "

def peak_mb():
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / 2**20 if sys.platform == "darwin" else rss / 2**10

def emit(**kw):
    kw["peak_mb"] = peak_mb()
    print(MARK + json.dumps(kw), flush=True)
    sys.exit(0)

def counts(findings):
    rules, severities = {}, {}
    for f in findings:
        rule = getattr(f, "rule", None)
        if rule is None and isinstance(f, (tuple, list)) and f:
            rule = f[0]
        sev = getattr(f, "severity", None)
        sev = getattr(sev, "label", sev)
        rules[str(rule)] = rules.get(str(rule), 0) + 1
        severities[str(sev)] = severities.get(str(sev), 0) + 1
    return {"findings": len(findings), "rules": rules, "severities": severities}

def need(what):
    try:
        if what == "dpmsmt.load":
            import dpmsmt
            return dpmsmt.load
        if what == "dpmsmt.check":
            import dpmsmt
            return dpmsmt.check
        if what == "reference_check":
            from tests.reference import reference_check
            return reference_check
        if what == "yaml":
            import yaml
            return lambda text: yaml.load(text, Loader=yaml.CSafeLoader)
    except Exception as e:  # ImportError, AttributeError, or an error inside the module
        emit(missing=what, error=f"{type(e).__name__}: {e}")

try:
    if mode == "probe":
        missing = {}
        for what in ("dpmsmt.load", "dpmsmt.check", "reference_check", "yaml"):
            try:
                if what == "dpmsmt.load":
                    import dpmsmt
                    dpmsmt.load
                elif what == "dpmsmt.check":
                    import dpmsmt
                    dpmsmt.check
                elif what == "reference_check":
                    from tests.reference import reference_check
                elif what == "yaml":
                    import yaml
                    yaml.CSafeLoader
            except Exception as e:
                missing[what] = f"{type(e).__name__}: {e}"
        emit(missing=missing)
    elif mode in ("dpmsmt", "reference"):
        load = need("dpmsmt.load")
        run = need("dpmsmt.check") if mode == "dpmsmt" else need("reference_check")
        gc.collect()
        t0 = time.perf_counter()
        topo = load(path)
        t1 = time.perf_counter()
        result = run(topo)
        t2 = time.perf_counter()
        findings = result if isinstance(result, (list, tuple)) else result.findings
        emit(read_s=t1 - t0, check_s=t2 - t1, **counts(findings))
    elif mode in ("yaml", "json"):
        parse = need("yaml") if mode == "yaml" else None
        gc.collect()
        t0 = time.perf_counter()
        if mode == "yaml":
            with open(path, encoding="utf-8") as f:
                doc = parse(f.read())
        else:
            with open(path, encoding="utf-8") as f:
                doc = json.load(f)
        t1 = time.perf_counter()
        emit(load_s=t1 - t0)
    else:
        emit(error=f"unknown mode {mode}")
except SystemExit:
    raise
except BaseException as e:
    tb = traceback.format_exc(limit=-3).strip().splitlines()
    emit(error=f"{type(e).__name__}: {e}"[:500], traceback=tb[-6:])
"""

PARTS = {
    "dpmsmt.load": "the dpmsmt columns and the reference columns (both read with dpmsmt.load)",
    "dpmsmt.check": "the dpmsmt check column",
    "reference_check": "the reference check column (tests/reference.py)",
    "yaml": "the PyYAML baseline (read ratio of YAML rows)",
}


def run_child(mode: str, path: Path | None, repo: Path, timeout: float) -> dict:
    """Run one measurement in a fresh interpreter; its result dict (with `error` on failure)."""
    cmd = [sys.executable, "-c", CHILD, mode, str(path or ""), str(repo)]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the child puts the repo first on sys.path itself
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, cwd=repo, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:g} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARK):
            return json.loads(line[len(MARK) :])
    tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
    return {"error": f"child exited with code {proc.returncode}: {tail}"}


def parse_sizes(text: str) -> list[tuple[int, int]]:
    if text in SIZES:
        return SIZES[text]
    out = []
    for item in text.split(","):
        dpm, _, ds = item.strip().lower().partition("x")
        out.append((int(dpm), int(ds)))
    return out


def measure(args, repo: Path, workdir: Path, missing: dict) -> list[dict]:
    rows = []
    for n_dpm, n_ds in args.sizes:
        t0 = time.perf_counter()
        doc = estates.generate(n_dpm, n_ds, seed=args.seed, violations=args.violations)
        gen_s = time.perf_counter() - t0
        exp = doc.get("expect", {})
        expected = sum(len(exp.get(k, ())) for k in ("findings", "warnings", "infos"))
        log(
            f"{n_dpm} DPM / {n_ds} ds: generated in {gen_s:.2f} s "
            f"({len(doc['servers'])} protected servers, expect {expected} findings)"
        )
        for fmt in args.formats:
            path = workdir / f"estate-{n_dpm}-{n_ds}-s{args.seed}.{fmt}"
            t0 = time.perf_counter()
            estates.write(doc, path)
            write_s = time.perf_counter() - t0
            size_mb = path.stat().st_size / 2**20
            log(f"  {fmt}: wrote {size_mb:.1f} MB in {write_s:.2f} s")
            row = {
                "format": fmt,
                "dpm_servers": n_dpm,
                "datasources": n_ds,
                "protected_servers": len(doc["servers"]),
                "file_mb": size_mb,
                "generate_s": gen_s,
                "write_s": write_s,
                "expected": expected,
            }
            jobs = [
                ("dpmsmt", "dpmsmt.load" not in missing),
                ("reference", "dpmsmt.load" not in missing),
                (fmt, fmt == "json" or "yaml" not in missing),
            ]
            for mode, available in jobs:
                if mode == "dpmsmt" and "dpmsmt.check" in missing:
                    available = False
                if mode == "reference" and "reference_check" in missing:
                    available = False
                if not available:
                    continue
                results = []
                for _ in range(args.repeat):
                    log(f"  {fmt}: {mode} ...")
                    res = run_child(mode, path, repo, args.timeout)
                    results.append(res)
                    if "error" in res:
                        break
                res = best(results)
                if "error" in res:
                    log(f"  {fmt}: {mode} FAILED: {res['error']}")
                    for line in res.get("traceback", []):
                        log(f"      {line}")
                    row.setdefault("errors", {})[mode] = res["error"]
                    continue
                key = {"dpmsmt": "", "reference": "ref_"}.get(mode)
                if key is None:
                    row["baseline_s"] = res["load_s"]
                    row["baseline_peak_mb"] = res["peak_mb"]
                    log(f"  {fmt}: baseline {res['load_s']:.3f} s")
                else:
                    row[key + "read_s"] = res["read_s"]
                    row[key + "check_s"] = res["check_s"]
                    row[key + "peak_mb"] = res["peak_mb"]
                    row[key + "findings"] = res["findings"]
                    row[key + "rules"] = res["rules"]
                    row[key + "severities"] = res["severities"]
                    log(
                        f"  {fmt}: {mode} read {res['read_s']:.3f} s, check {res['check_s']:.3f} s,"
                        f" peak {res['peak_mb']:.0f} MB, {res['findings']} findings"
                    )
            row["check_ratio"] = ratio(row.get("check_s"), row.get("ref_check_s"))
            row["read_ratio"] = ratio(row.get("read_s"), row.get("baseline_s"))
            if "findings" in row and "ref_findings" in row:
                row["agree"] = row["rules"] == row["ref_rules"]
            rows.append(row)
    return rows


def best(results: list[dict]) -> dict:
    """Of repeated runs: the smallest times, the largest peak."""
    if len(results) == 1 or any("error" in r for r in results):
        return next((r for r in results if "error" in r), results[0])
    out = dict(results[0])
    for key in ("read_s", "check_s", "load_s"):
        if key in out:
            out[key] = min(r[key] for r in results)
    out["peak_mb"] = max(r["peak_mb"] for r in results)
    return out


def ratio(a, b):
    if a is None or b is None:
        return None
    return a / b if b > 0 else None


def fmt_s(x) -> str:
    if x is None:
        return "—"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def fmt_num(x, digits=1) -> str:
    if x is None:
        return "—"
    if x == float("inf"):
        return "∞"
    return f"{x:.{digits}f}"


COLUMNS = (
    "format",
    "DPM servers",
    "data sources",
    "file MB",
    "read s",
    "check s",
    "peak MB",
    "ref read s",
    "ref check s",
    "ref peak MB",
    "check ratio",
    "read ratio",
    "findings",
    "ref findings",
    "expected",
)


def markdown(rows: list[dict]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" if i == 0 else "--:" for i in range(len(COLUMNS))) + "|",
    ]
    for r in rows:
        cells = [
            r["format"],
            str(r["dpm_servers"]),
            f"{r['datasources']:,}",
            fmt_num(r["file_mb"]),
            fmt_s(r.get("read_s")),
            fmt_s(r.get("check_s")),
            fmt_num(r.get("peak_mb"), 0),
            fmt_s(r.get("ref_read_s")),
            fmt_s(r.get("ref_check_s")),
            fmt_num(r.get("ref_peak_mb"), 0),
            fmt_num(r.get("check_ratio")),
            fmt_num(r.get("read_ratio")),
            str(r.get("findings", "—")),
            str(r.get("ref_findings", "—")),
            str(r["expected"]),
        ]
        if r.get("agree") is False:
            cells[12] += " ≠"
        lines.append("| " + " | ".join(cells) + " |")
    notes = []
    for r in rows:
        if r.get("agree") is False:
            diff = sorted(
                k
                for k in set(r["rules"]) | set(r["ref_rules"])
                if r["rules"].get(k, 0) != r["ref_rules"].get(k, 0)
            )
            detail = ", ".join(
                f"{k} {r['rules'].get(k, 0)} vs {r['ref_rules'].get(k, 0)}" for k in diff
            )
            notes.append(
                f"- {r['format']} {r['dpm_servers']}/{r['datasources']}: dpmsmt and the "
                f"reference disagree: {detail}"
            )
        for mode, err in r.get("errors", {}).items():
            notes.append(
                f"- {r['format']} {r['dpm_servers']}/{r['datasources']}: {mode} failed: {err}"
            )
    if notes:
        lines += ["", *notes]
    return "\n".join(lines)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--sizes",
        default="small",
        type=parse_sizes,
        help="small (10/1k, 30/10k), all (+ 100/30k, 300/200k), or a list like "
        "10x1000,30x10000 (DPM servers x data sources); default small",
    )
    ap.add_argument(
        "--formats",
        default="json,yaml",
        type=lambda s: [f.strip() for f in s.split(",") if f.strip()],
        help="comma-separated, of json and yaml; default json,yaml",
    )
    ap.add_argument("--json", action="store_true", help="print the rows as JSON, not Markdown")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--violations", type=int, default=5)
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per measurement (fastest time, largest peak); default 1",
    )
    ap.add_argument(
        "--timeout", type=float, default=3600.0, help="seconds per measurement; default 3600"
    )
    ap.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="write the estates to DIR and keep them (default: a temp dir, removed)",
    )
    ap.add_argument(
        "--repo",
        type=Path,
        default=HERE.parent,
        help="the repository root the children import dpmsmt and tests from",
    )
    args = ap.parse_args(argv)
    bad = [f for f in args.formats if f not in ("json", "yaml")]
    if bad or not args.formats:
        ap.error(f"unknown format(s): {', '.join(bad) or '(none)'}; use json and/or yaml")
    args.repeat = max(1, args.repeat)
    repo = args.repo.resolve()

    probe = run_child("probe", None, repo, 300)
    if "error" in probe:
        log(f"cannot probe the repository {repo}: {probe['error']}")
        return 2
    missing = probe["missing"]
    for what, err in missing.items():
        log(f"NOT AVAILABLE: {what} ({err}); skipping {PARTS[what]}")

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        rows = measure(args, repo, args.keep, missing)
    else:
        with tempfile.TemporaryDirectory(prefix="dpmsmt-scaling-") as tmp:
            rows = measure(args, repo, Path(tmp), missing)

    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(markdown(rows))
    if any(r.get("agree") is False or r.get("errors") for r in rows):
        return 1
    return 2 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
