"""Golden JSON of the synthesis commands: `suggest-move`, `design` and `resilience`, byte for byte.

The safety net for restructuring synth.py, design.py and resilience.py (issue 15): every model in
models/ and a few generated estates pinned as YAML in tests/golden/estates/ are run through the
command line in process (`dpmsmt.cli.main`, from the repository root, relative paths), and stdout,
the exit code and stderr are compared with what tests/golden/synthesis/ holds:

- `<case>.json`: the report on stdout, exactly as printed;
- `cases.json`: for every case its command line, exit code and stderr (the case list is pinned
  there too, so a change in how cases are chosen cannot silently drop one).

Which cases: per input, `suggest-move` with the failures the file already has (if any), then with
each up DPM server that holds data sources or protects another one failed alone (at most
MAX_SINGLE_FAILURES of them, spread over the sorted names; models/bad get one suggest-move case
in all); `design`, plus the option sets its `expect.design` names; `resilience --failures 1`,
and `--failures 2` where 3 or 4 DPM servers are up (not for models/bad); and the option variants
of EXTRA. After an intended change, rewrite everything with

    DPMSMT_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_synthesis.py

and review the diff (tests/golden/README.md says how). The estates are inputs, written once by
`python tests/test_golden_synthesis.py --write-estates`; regenerating them is a change of input,
not of answers. Each pytest process has its own random hash seed, so a golden recorded in one run
and compared in another also checks that set and dict order never reach the output.
"""

from __future__ import annotations

import contextlib
import difflib
import io
import json
import os
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
GOLDEN = Path(__file__).resolve().parent / "golden"
SYNTHESIS = GOLDEN / "synthesis"
ESTATES = GOLDEN / "estates"
INDEX = SYNTHESIS / "cases.json"
UPDATE = os.environ.get("DPMSMT_UPDATE_GOLDEN") == "1"

# The budget: the whole file must run in about 40 s on an idle 2-core machine.
MAX_SINGLE_FAILURES = 3  # suggest-move --fail X: at most this many X per input (realistic has 10)
PAIRS_UP = range(3, 5)  # resilience --failures 2 where this many DPM servers are up (not bad/)
COMMANDS = ("suggest-move", "design", "resilience")
JSON = ["--format", "json"]
RESILIENCE = ["--jobs", "1", "--quiet", *JSON]  # in process: no worker processes, no progress bar

# option variants the per-input loop does not reach: (case name, command line)
EXTRA: list[tuple[str, list[str]]] = [
    ("good-seed.suggest-move.fail-DPM1.top-5", ["--fail", "DPM1", "--top", "5"]),
    ("good-seed.suggest-move.fail-DPM1.top-1", ["--fail", "DPM1", "--top", "1"]),
    ("good-seed.suggest-move.remove-DPM1", ["--remove", "DPM1"]),
    ("good-seed.suggest-move.fail-DPM1-DPM2", ["--fail", "DPM1", "--fail", "DPM2"]),
    ("good-seed.suggest-move.fail-DPM1.allow-switch", ["--fail", "DPM1", "--allow", "switch"]),
    (
        "good-seed.suggest-move.fail-DPM1.allow-rebuild-new-dpm",
        ["--fail", "DPM1", "--allow", "rebuild,new-dpm"],
    ),
    (
        "good-seed.suggest-move.fail-DPM1.rank-max-load-first",
        ["--fail", "DPM1", "--rank", "max_load,new_servers,rebuilds"],
    ),
    ("good-chain.suggest-move.fail-DPM1-DPM2", ["--fail", "DPM1", "--fail", "DPM2"]),
    ("good-chain.suggest-move.remove-DPM2", ["--remove", "DPM2"]),
    ("good-chain.suggest-move.fail-DPM2.allow-move", ["--fail", "DPM2", "--allow", "move"]),
    ("seed-dpm1-failed.suggest-move.remove-DPM1", ["--remove", "DPM1"]),
    ("seed-dpm1-failed.suggest-move.top-6", ["--top", "6"]),
    (
        "seed-dpm1-failed.suggest-move.rank-rebuilds-first",
        ["--rank", "rebuilds,new_servers,repointed"],
    ),
    ("good-two-cycle.suggest-move.fail-DPM1-DPM2", ["--fail", "DPM1", "--fail", "DPM2"]),
    ("good-realistic.suggest-move.fail-DPM-A1-DPM-B1", ["--fail", "DPM-A1", "--fail", "DPM-B1"]),
    ("design-pair.design.allow-new-1", ["--allow-new", "1"]),
    ("design-pair.design.top-1", ["--top", "1"]),
    ("design-mutual.design.top-5", ["--top", "5"]),
    ("design-mutual.design.for-DPM1", ["--for", "DPM1"]),
    ("design-lower-load.design.allow-new-2", ["--allow-new", "2"]),
    ("design-lower-load.design.profile-2012", ["--profile", "2012"]),
    ("design-shorter-chain.design.allow-cycles", ["--allow-cycles"]),
    ("good-realistic.design.allow-new-1", ["--allow-new", "1"]),
    # worker processes: the answer must not depend on them (the other cases use --jobs 1)
    ("good-chain.resilience.k2-jobs-2", ["-k", "2", "--jobs", "2", "--quiet"]),
]


# -- choosing the cases -----------------------------------------------------------------------


def inputs() -> list[str]:
    """Every model and every pinned estate, as paths relative to the repository root."""
    files = sorted((REPO / "models").rglob("*.yaml")) + sorted(ESTATES.glob("*.yaml"))
    return [f.relative_to(REPO).as_posix() for f in files]


def stem(path: str) -> str:
    """`models/good/chain.yaml` -> `good-chain`; `tests/golden/estates/x.yaml` -> `estate-x`."""
    parts = Path(path).with_suffix("").parts
    return "-".join(parts[1:] if parts[0] == "models" else ("estate", parts[-1]))


def safe(name: str) -> str:
    """A DPM server's name as part of a file name (estates have names like `a:b` and `Ünï`)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def spread(names: list[str], most: int) -> list[str]:
    """At most `most` of `names`, evenly spaced, so a large estate is sampled across its groups."""
    if len(names) <= most:
        return names
    return [names[i * len(names) // most] for i in range(most)]


def cases_for(path: str) -> list[tuple[str, list[str]]]:
    """The standard cases of one input (see the module docstring)."""
    from dpmsmt import load

    topology = load(str(REPO / path))
    dpms = topology.dpm_servers
    up = sorted(n for n, d in dpms.items() if d.up)
    primaries = {ds.primary for ds in topology.datasources()}
    busy = [n for n in up if n in primaries or dpms[n].protects]
    base = stem(path)
    cases = []
    if len(up) < len(dpms):
        cases.append((f"{base}.suggest-move", ["suggest-move", path, *JSON]))
    # models/bad are one-rule variations of good models: one suggest-move case each is enough
    bad = path.startswith("models/bad/")
    most = (0 if cases else 1) if bad else MAX_SINGLE_FAILURES
    for name in spread(busy, most):
        argv = ["suggest-move", path, "--fail", name, *JSON]
        cases.append((f"{base}.suggest-move.fail-{safe(name)}", argv))
    cases.append((f"{base}.design", ["design", path, *JSON]))
    expected = (topology.expect or {}).get("design") or []
    for options in [e["options"] for e in expected if e.get("options")]:
        label = "-".join(safe(o).strip("-") for o in options)
        cases.append((f"{base}.design.{label}", ["design", path, *options, *JSON]))
    cases.append((f"{base}.resilience-k1", ["resilience", path, "-k", "1", *RESILIENCE]))
    if len(up) in PAIRS_UP and not bad:
        cases.append((f"{base}.resilience-k2", ["resilience", path, "-k", "2", *RESILIENCE]))
    return cases


def extra_cases() -> list[tuple[str, list[str]]]:
    """EXTRA, with the input file and the command read off the case name."""
    by_stem = {stem(p): p for p in inputs()}
    out = []
    for name, options in EXTRA:
        base, command = name.split(".")[:2]
        assert command in COMMANDS, f"{name}: the second part must be the command"
        out.append((name, [command, by_stem[base], *options, *JSON]))
    return out


def choose_cases() -> dict[str, list[str]]:
    """Case name -> command line, for every input and EXTRA (names must not collide)."""
    chosen: dict[str, list[str]] = {}
    for name, argv in [c for p in inputs() for c in cases_for(p)] + extra_cases():
        assert name not in chosen, f"two cases named {name}"
        chosen[name] = argv
    return chosen


# -- running and recording --------------------------------------------------------------------


def run(argv: list[str]) -> tuple[int, str, str]:
    """`dpmsmt ARGV` in this process, from the repository root: (exit code, stdout, stderr)."""
    from dpmsmt import cli

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(REPO)
    try:
        with (
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
            pytest.raises(SystemExit) as info,
        ):
            cli.main(argv)
    finally:
        os.chdir(here)
    code = info.value.code
    return (0 if code is None else code), out.getvalue(), err.getvalue()


def record() -> dict[str, dict]:
    """Run every chosen case; rewrite tests/golden/synthesis/ (stale files removed)."""
    SYNTHESIS.mkdir(parents=True, exist_ok=True)
    index = {}
    for name, argv in choose_cases().items():
        code, out, err = run(argv)
        index[name] = {"argv": argv, "exit": code, "stderr": err}
        (SYNTHESIS / f"{name}.json").write_bytes(out.encode("utf-8"))
    for old in SYNTHESIS.glob("*.json"):
        if old != INDEX and old.stem not in index:
            old.unlink()
    lines = [
        f" {json.dumps(name)}: {json.dumps(index[name], ensure_ascii=False)}"
        for name in sorted(index)
    ]
    INDEX.write_text("{\n" + ",\n".join(lines) + "\n}\n", encoding="utf-8")  # a case a line
    return index


def load_index() -> dict[str, dict]:
    if UPDATE:
        return record()
    if not INDEX.exists():
        return {}
    return json.loads(INDEX.read_text(encoding="utf-8"))


CASES = load_index()


def first_difference(expected: str, got: str, limit: int = 40) -> str:
    lines = difflib.unified_diff(
        expected.splitlines(), got.splitlines(), "golden", "now", n=2, lineterm=""
    )
    return "\n".join(list(lines)[:limit])


# -- the tests --------------------------------------------------------------------------------


def test_cases_are_recorded():
    assert CASES, f"no {INDEX.relative_to(REPO)}; DPMSMT_UPDATE_GOLDEN=1 records it"


@pytest.mark.parametrize("name", sorted(CASES))
def test_synthesis_golden(name):
    case = CASES[name]
    code, out, err = run(case["argv"])
    expected = (SYNTHESIS / f"{name}.json").read_bytes().decode("utf-8")
    hint = "; DPMSMT_UPDATE_GOLDEN=1 rewrites it after an intended change"
    assert out == expected, f"{name}: stdout differs{hint}\n{first_difference(expected, out)}"
    assert (code, err) == (case["exit"], case["stderr"]), f"{name}: exit code or stderr{hint}"


def test_every_input_has_cases():
    """A model added to models/ (or an estate) without goldens fails here until recorded."""
    covered = {argv[1] for case in CASES.values() for argv in [case["argv"]]}
    missing = sorted(set(inputs()) - covered)
    assert not missing, f"no golden for {missing}; DPMSMT_UPDATE_GOLDEN=1 records them"


def test_every_command_is_covered_with_an_answer():
    """Each command has cases, each in JSON, and each gives an answer: 0 or 1, never an error (2)
    or a solver that gave up (3), which would be a golden of the machine's load."""
    assert {case["argv"][0] for case in CASES.values()} == set(COMMANDS)
    assert all(case["argv"][-2:] == JSON for case in CASES.values())
    assert {name: case["exit"] for name, case in CASES.items() if case["exit"] not in (0, 1)} == {}


# -- the pinned estates (inputs; written once, on purpose) ------------------------------------

# (file stem, valid) for dpmsmt.strategies.topologies, drawn with hypothesis seed 1, 2, 3 ...
STRATEGY_ESTATES = [("strategy-valid", True), ("strategy-invalid", False)]
# (n_dpm, n_ds, seed) for benchmarks/estates.py
BENCHMARK_ESTATES = [(4, 16, 1), (6, 30, 2), (9, 45, 3)]
SEEDS = (1, 2)


def _drawn(strategy, seed_value: int, wanted) -> object:
    """The first example, under a fixed hypothesis seed, that `wanted` accepts."""
    from hypothesis import HealthCheck, Phase, given, seed, settings

    found = []

    @seed(seed_value)
    @settings(
        max_examples=60,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(example):
        if not found and wanted(example):
            found.append(example)

    draw()
    assert found, f"no wanted example under seed {seed_value}"
    return found[0]


def _interesting(topology) -> bool:
    """Enough to synthesize over: four DPM servers or more, two of them up, four data sources."""
    dpms = topology.dpm_servers.values()
    n_ds = sum(1 for _ in topology.datasources())
    return len(dpms) >= 4 and sum(d.up for d in dpms) >= 2 and n_ds >= 4


def write_estates() -> list[Path]:
    """Write the estates of STRATEGY_ESTATES and BENCHMARK_ESTATES to tests/golden/estates/."""
    import importlib.util

    from dpmsmt.io.dump import dump
    from dpmsmt.strategies import topologies

    ESTATES.mkdir(parents=True, exist_ok=True)
    written = []
    for label, valid in STRATEGY_ESTATES:
        for s in SEEDS:
            t = _drawn(topologies(min_dpm=4, max_dpm=5, valid=valid), s, _interesting)
            head = (
                f"# dpmsmt.strategies.topologies(min_dpm=4, max_dpm=5, valid={valid}), seed {s}\n"
            )
            written.append(ESTATES / f"{label}-{s}.yaml")
            written[-1].write_text(head + dump(t), encoding="utf-8")
    spec = importlib.util.spec_from_file_location("estates", REPO / "benchmarks" / "estates.py")
    estates = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(estates)
    for n_dpm, n_ds, s in BENCHMARK_ESTATES:
        doc = estates.generate(n_dpm, n_ds, seed=s)
        head = f"# benchmarks/estates.py: generate({n_dpm}, {n_ds}, seed={s})\n"
        written.append(ESTATES / f"benchmark-{n_dpm}-{n_ds}-{s}.yaml")
        written[-1].write_text(head + estates.to_yaml(doc), encoding="utf-8")
    return written


if __name__ == "__main__":
    if sys.argv[1:] != ["--write-estates"]:
        sys.exit("usage: python tests/test_golden_synthesis.py --write-estates")
    sys.path.insert(0, str(REPO))
    for path in write_estates():
        print(path.relative_to(REPO))
