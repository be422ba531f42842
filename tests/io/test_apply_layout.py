"""`suggest-move --apply` and `design --apply` (issue 11): the user's comments, key order, flow
style and indentation survive; only the applied plan is printed; `--apply-phase` picks the
state; a waiver the plan makes unused is named in the plan and left out of the written file, so
that `check --fail-on warning` of that file passes."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest
from paths import REPO_DIR

import dpmsmt
from dpmsmt import cli
from dpmsmt.io.dump import document, dump
from dpmsmt.io.roundtrip import patch
from dpmsmt.recovery import synthesize


def plain(topology) -> dict:
    return document(topology, flow=False)


MODELS = REPO_DIR / "models"

# SECONDARY-COVERAGE (Server1/E:\ has no secondary) is waived; moving Server1 away from DPM1
# (to a new DPM server, which has no secondary) leaves the waiver matching nothing.
ESTATE = """\
# Site A: DPM3 is the secondary of DPM1 and DPM2
dpmsmt: 1
profile: "2012"
dpm_servers:
  DPM1: {version: "4.2.1092.0"}   # the old one
  DPM2: {version: "4.2.1092.0"}
  DPM3:
    version: "4.2.1092.0"
    protects: [DPM1, DPM2]   # both
servers:
  Server1:
    agent: DPM1
    datasources:
      - {name: 'D:\\', secondary: DPM3}
      # E: is not worth a replica
      - {name: 'E:\\'}
  Server2:
    agent: DPM2
    datasources:
      - {name: 'D:\\', secondary: DPM3}
waivers:
  - rule: SECONDARY-COVERAGE
    target: 'Server1/E:\\'
    reason: scratch data   # agreed with ops
"""


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        cli.main(list(argv))
    out = capsys.readouterr()
    return info.value.code or 0, out.out, out.err


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    (tmp_path / "estate.yaml").write_text(ESTATE, encoding="utf-8")
    seed = (MODELS / "seed/before.yaml").read_text(encoding="utf-8")
    (tmp_path / "seed.yaml").write_text(seed, encoding="utf-8")
    return tmp_path


def plan_moving_server1(capsys) -> int:
    _, out, _ = run(capsys, "suggest-move", "estate.yaml", "--fail", "DPM1", "-f", "json")
    plans = json.loads(out)["plans"]
    return next(p["rank"] for p in plans if any(a["action"] == "new-dpm" for a in p["actions"]))


def test_apply_keeps_comments_key_order_and_flow_style(files, capsys):
    rank = plan_moving_server1(capsys)
    code, _, err = run(
        capsys,
        "suggest-move",
        "estate.yaml",
        "--fail",
        "DPM1",
        "--apply",
        str(rank),
        "-o",
        "a.yaml",
    )
    assert code == 0, err
    written = (files / "a.yaml").read_text(encoding="utf-8")
    for comment in ("# Site A", "# the old one", "# both", "# E: is not worth a replica"):
        assert comment in written
    assert re.search(r"^  DPM1: \{version: \"4.2.1092.0\", status: failed", written, re.M)
    assert "    protects: [DPM1, DPM2]   # both\n" in written  # untouched lines stay as written
    assert (
        "  Server2:\n    agent: DPM2\n    datasources:\n      - {name: 'D:\\', secondary: DPM3}\n"
        in written
    )
    keys = [m[1] for m in re.finditer(r"^(\w[\w-]*):", written, re.M)]
    assert keys == ["dpmsmt", "profile", "dpm_servers", "servers"]  # waivers: left out below
    assert "comments and layout kept" in err
    suggestion = synthesize(dpmsmt.load("estate.yaml"), failed=["DPM1"])
    state = suggestion.plans[rank - 1].final_state
    assert plain(dpmsmt.load("a.yaml")) == plain(replace(state, waivers=()))


def test_the_plan_names_the_waivers_it_makes_unused_and_apply_leaves_them_out(files, capsys):
    rank = plan_moving_server1(capsys)
    _, out, _ = run(capsys, "suggest-move", "estate.yaml", "--fail", "DPM1", "-f", "json")
    plans = {p["rank"]: p for p in json.loads(out)["plans"]}
    assert plans[rank]["unused_waivers"] == [
        {"waiver": 0, "rule": "SECONDARY-COVERAGE", "target": "Server1/E:\\"}
    ]
    assert all("unused_waivers" in p for p in plans.values())
    _, text, _ = run(capsys, "suggest-move", "estate.yaml", "--fail", "DPM1")
    assert "makes unused: waiver 0 (SECONDARY-COVERAGE on Server1/E:\\)" in text
    code, _, err = run(
        capsys,
        "suggest-move",
        "estate.yaml",
        "--fail",
        "DPM1",
        "--apply",
        str(rank),
        "-o",
        "a.yaml",
    )
    assert code == 0
    assert (
        f"left out waiver 0 (SECONDARY-COVERAGE on Server1/E:\\): it matches nothing after plan {rank}"
        in err
    )
    assert "waivers" not in (files / "a.yaml").read_text(encoding="utf-8")
    code, out, err = run(capsys, "check", "a.yaml", "--fail-on", "warning")
    assert code == 0, out


def test_apply_prints_only_the_applied_plan(files, capsys):
    code, out, _ = run(
        capsys, "suggest-move", "seed.yaml", "--fail", "DPM1", "--apply", "2", "-o", "a.yaml"
    )
    assert code == 0
    assert re.findall(r"^Plan (\d+)", out, re.M) == ["2"]
    _, out, _ = run(
        capsys,
        "suggest-move",
        "seed.yaml",
        "--fail",
        "DPM1",
        "--apply",
        "1",
        "-o",
        "b.yaml",
        "-f",
        "json",
    )
    assert [p["rank"] for p in json.loads(out)["plans"]] == [1]


@pytest.mark.parametrize("phase", ["immediate", "final"])
def test_apply_phase_writes_that_phase_state(files, capsys, phase):
    suggestion = synthesize(dpmsmt.load("seed.yaml"), failed=["DPM1"])
    plan = suggestion.plans[0]
    assert plan.final, "plan 1 of the seed has a final phase (rebuild, switch back)"
    code, _, err = run(
        capsys,
        "suggest-move",
        "seed.yaml",
        "--fail",
        "DPM1",
        "--apply",
        "1",
        "-o",
        "a.yaml",
        "--apply-phase",
        phase,
    )
    assert code == 0
    assert f"plan 1's {phase} state" in err
    want = plan.immediate_state if phase == "immediate" else plan.final_state
    assert plain(dpmsmt.load("a.yaml")) == plain(want)
    assert plain(plan.immediate_state) != plain(plan.final_state)


def test_design_apply_keeps_the_layout(files, capsys):
    text = (
        "dpmsmt: 1\n# two sites\ndpm_servers:\n"
        "    DPM1: {version: '10.19.58.0'}  # site A\n"
        "    DPM2:\n        version: '10.19.58.0'   # site B\n"
        "servers:\n    S1:\n        agent: DPM1\n        datasources:\n"
        "          - {name: 'C:\\'}\n"
    )
    (files / "two.yaml").write_text(text, encoding="utf-8")
    code, out, err = run(capsys, "design", "two.yaml", "--apply", "1", "-o", "d.yaml")
    assert code == 0, err
    written = (files / "d.yaml").read_text(encoding="utf-8")
    assert "# two sites\n" in written and "# site A" in written and "# site B" in written
    assert "          - {name: 'C:\\'" in written  # four-space mappings, offset sequences
    assert re.findall(r"^Design (\d+)", out, re.M) == ["1"]


@pytest.mark.parametrize(
    ("model", "fail"),
    [
        ("seed/before.yaml", "DPM1"),
        ("seed/before.yaml", "DPM3"),
        ("good/realistic.yaml", "DPM-A1"),
        ("good/waiver.yaml", None),
    ],
)
def test_patched_text_reads_back_as_every_plan_state(model, fail):
    path = MODELS / model
    topology = dpmsmt.load(str(path))
    fail = fail or next(n for n, d in topology.dpm_servers.items() if d.up)
    text = path.read_text(encoding="utf-8")
    for plan in synthesize(topology, failed=[fail], top=2).plans:
        for state in (plan.immediate_state, plan.final_state):
            patched = patch(text, topology, state)
            assert patched is not None
            assert plain(dpmsmt.loads(patched)) == plain(state)
            kept = [line for line in text.splitlines() if line.lstrip().startswith("#")]
            assert all(line in patched for line in kept if "expect" not in line)


def test_patch_gives_up_rather_than_write_something_else():
    topology = dpmsmt.load(str(MODELS / "seed/before.yaml"))
    other = dpmsmt.loads(dump(topology).replace("DPM3", "DPM9"))
    assert patch("dpmsmt: 1\n- not a mapping\n", topology, other) is None


def test_json_input_is_written_in_dpmsmts_own_layout_and_says_so(files, capsys):
    text = json.dumps(plain(dpmsmt.load("seed.yaml")))
    (files / "seed.json").write_text(text, encoding="utf-8")
    code, _, err = run(
        capsys, "suggest-move", "seed.json", "--fail", "DPM1", "--apply", "2", "-o", "a.yaml"
    )
    assert code == 0
    assert "in dpmsmt's own layout" in err
    state = synthesize(dpmsmt.load("seed.json"), failed=["DPM1"]).plans[1].final_state
    assert plain(dpmsmt.load("a.yaml")) == plain(state)


def test_a_file_too_large_for_the_round_trip_is_left_to_dump(monkeypatch):
    import dpmsmt.io.roundtrip as roundtrip

    path = MODELS / "seed/before.yaml"
    topology = dpmsmt.load(str(path))
    state = synthesize(topology, failed=["DPM1"]).plans[1].final_state
    text = path.read_text(encoding="utf-8")
    assert patch(text, topology, state) is not None
    monkeypatch.setattr(roundtrip, "MAX_CHARS", len(text) - 1)
    assert patch(text, topology, state) is None
