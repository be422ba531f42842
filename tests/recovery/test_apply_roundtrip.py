"""Plans applied, written and read back; the change rules against an independent reference.

- differential: `check(after, before=before)` reports the same change-rule findings (the six ids
  of rules.md, "Change rules") as `reference_check_change` (tests/reference.py), on the change
  files of models/, on `dpmsmt.strategies.changes` pairs, on wilder pairs (statuses, `knows`,
  `protects`, primaries, switches, versions and the case of names all changed at random), and on
  the before/after pairs a suggest-move plan produces;
- round trip: a plan's states survive `dump`/`loads` unchanged;
- `suggest-move --apply N --output F` writes a file that `check F --before ORIGINAL` accepts
  with no error outside the suggestion's `preexisting` (cli.md).
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, note
from hypothesis import strategies as st
from paths import REPO_DIR
from profiles import capped
from reference import CHANGE_RULES, RefFinding, reference_check_change

import dpmsmt
from dpmsmt.actions import Action, apply_actions
from dpmsmt.cli import main
from dpmsmt.io.dump import document, dump
from dpmsmt.model import Failure, Topology
from dpmsmt.plan_waivers import without_waivers
from dpmsmt.recovery import IGNORED, synthesize
from dpmsmt.strategies import changes, document_to_topology, failures, topologies

ROOT = REPO_DIR
TODAY = "2026-01-15"


def at_failure(t: Topology, failed) -> tuple[Topology, Topology]:
    """(before, state) as suggest-move sees a failure (format.md): `state` has the `failed` DPM
    servers down, with the default failure where the file gives none; `before` has every DPM
    server up."""
    dpms = dict(t.dpm_servers)
    for n in failed:
        if dpms[n].up:
            dpms[n] = replace(dpms[n], status="failed", failure=dpms[n].failure or Failure())
    up = {n: d if d.up else replace(d, status="up", failure=None) for n, d in dpms.items()}
    return replace(t, dpm_servers=up), replace(t, dpm_servers=dpms)


# -- findings as comparable values ---------------------------------------------------------------


def key(rule: str, severity: str, entities: dict, waived: bool) -> tuple[str, str, str, bool]:
    return (rule, severity, json.dumps(entities, sort_keys=True, ensure_ascii=False), waived)


def z3_change(before: Topology, after: Topology) -> Counter:
    report = dpmsmt.check(after, before=before, today=TODAY)
    return Counter(
        key(f.rule, f.severity.label, f.entities, f.waived)
        for f in report.findings
        if f.rule in CHANGE_RULES
    )


def ref_change(before: Topology, after: Topology) -> Counter:
    return Counter(
        key(f.rule, f.severity, f.entities, f.waived)
        for f in reference_check_change(before, after, today=TODAY)
    )


def assert_change_agree(before: Topology, after: Topology) -> None:
    got, want = z3_change(before, after), ref_change(before, after)
    if got != want:
        only_check = "\n  ".join(map(str, sorted((got - want).elements())))
        only_ref = "\n  ".join(map(str, sorted((want - got).elements())))
        raise AssertionError(
            f"before:\n{dump(before)}\nafter:\n{dump(after)}\n"
            f"only in check:\n  {only_check}\nonly in reference:\n  {only_ref}"
        )


# -- the reference on hand-built changes (the seed's scenarios) ------------------------------------


def seed_file(name: str) -> Topology:
    return dpmsmt.load(ROOT / "models" / "seed" / name)


def ref(before: Topology, after: Topology) -> list[RefFinding]:
    return reference_check_change(before, after, today=TODAY)


def test_reference_seed_scenario_1_moves_under_the_secondary():
    found = ref(seed_file("before.yaml"), seed_file("scenario1-after.yaml"))
    assert (
        RefFinding(
            "NO-MOVE-UNDER-SECONDARY",
            "error",
            {"datasource": "Server1/D:\\", "from": "DPM1", "to": "DPM2", "secondary": "DPM3"},
            False,
        )
        in found
    )
    assert [f.rule for f in found if f.severity == "error"] == ["NO-MOVE-UNDER-SECONDARY"]


def test_reference_seed_options_are_legal():
    before = seed_file("before.yaml")
    for name in ("option1-switch.yaml", "option3-dpm4.yaml", "dpm1-failed.yaml"):
        assert [f for f in ref(before, seed_file(name)) if f.severity == "error"] == [], name
    assert ref(seed_file("dpm1-failed.yaml"), seed_file("option2-rebuild.yaml")) == []


def test_reference_rebuild_and_removed():
    seed = seed_file("dpm1-failed.yaml")
    dpms = dict(seed.dpm_servers)

    def with_dpm1(t: Topology, **kw) -> Topology:
        return replace(t, dpm_servers={**t.dpm_servers, "DPM1": replace(dpms["DPM1"], **kw)})

    up_other = with_dpm1(seed, status="up", failure=None, version="4.2.1092.1")
    assert [(f.rule, f.entities) for f in ref(seed, up_other)] == [
        ("REBUILD-SAME-VERSION", {"dpm": "DPM1", "before": "4.2.1205.0", "after": "4.2.1092.1"})
    ]
    # DPM1's database was lost and its only backup is on DPM3: once DPM3 is down too, no
    # copy survives
    dpm3_down = replace(seed, dpm_servers={**dpms, "DPM3": replace(dpms["DPM3"], status="failed")})
    back = with_dpm1(dpm3_down, status="up", failure=None)
    assert ("REBUILD-NEEDS-BACKUP", {"dpm": "DPM1", "database": "lost", "backup": "secondary"}) in [
        (f.rule, f.entities) for f in ref(dpm3_down, back)
    ]
    removed = with_dpm1(seed, status="removed", failure=None)
    assert [f.rule for f in ref(removed, with_dpm1(seed, status="up", failure=None))] == [
        "REMOVED-IS-GONE"
    ]


def test_reference_knows_is_over_both_snapshots():
    """Server1 moves from DPM1 to DPM4; DPM3 (DPM1's secondary) registers DPM4 only after."""
    text = (ROOT / "models" / "seed" / "before.yaml").read_text()
    text = text.replace("dpm_servers:\n", "dpm_servers:\n  DPM4: {version: '4.2.1205.0'}\n", 1)
    before = dpmsmt.loads(text)
    moved = text.replace("agent: DPM1", "agent: DPM4").replace(
        "primary: DPM1, secondary: DPM3", "primary: DPM4"
    )
    assert [f.rule for f in ref(before, dpmsmt.loads(moved))] == ["HISTORY-LEFT-BEHIND"]
    known = moved.replace("protects: [DPM1, DPM2]", "protects: [DPM1, DPM2]\n    knows: [dpm4]")
    entities = {"datasource": "Server1/D:\\", "from": "DPM1", "to": "DPM4", "secondary": "DPM3"}
    assert [(f.rule, f.entities) for f in ref(before, dpmsmt.loads(known))] == [
        ("NO-MOVE-UNDER-SECONDARY", entities),
        ("HISTORY-LEFT-BEHIND", {"datasource": "Server1/D:\\", "primary": "DPM1"}),
    ]
    # moving a data source to no primary is allowed (its history stays behind)
    dropped = known.replace("primary: DPM4", "primary: null")
    assert [f.rule for f in ref(before, dpmsmt.loads(dropped))] == ["HISTORY-LEFT-BEHIND"]
    for after in (moved, known, dropped):
        assert_change_agree(before, dpmsmt.loads(after))


def test_rebuild_needs_backup_reads_the_defaultfailure_of():
    # DPM1 backs its database up to its own storage pool; a failed server's storage survives
    # unless `failure.storage: lost` says otherwise (format.md), so the rebuild is allowed
    up = dpmsmt.loads(
        "dpmsmt: 1\ndpm_servers:\n"
        "  DPM1: {version: '10.19.58.0', database: {sql: remote, backup: own-pool}}\n"
    )
    dpm1 = up.dpm_servers["DPM1"]
    before = replace(up, dpm_servers={"DPM1": replace(dpm1, status="failed", failure=None)})
    assert ref(before, up) == []
    assert_change_agree(before, up)  # check: REBUILD-NEEDS-BACKUP {dpm: DPM1, database: None, ...}


def change_files() -> list[tuple[Path, Path]]:
    out = []
    for path in sorted((ROOT / "models").glob("*/*.yaml")):
        t = dpmsmt.load(path)
        if t.expect and t.expect.get("before"):
            out.append((path.parent / t.expect["before"], path))
    return out


@pytest.mark.parametrize(
    ("before", "after"), change_files(), ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_check_agrees_with_reference_on_model_changes(before, after):
    assert_change_agree(dpmsmt.load(before), dpmsmt.load(after))


# -- (a) differential over generated changes -------------------------------------------------------


@capped(40)
@given(st.data())
def test_change_rules_agree_on_strategy_changes(data):
    t = data.draw(topologies(max_dpm=5))
    before, after = data.draw(changes(t))
    assert_change_agree(before, after)


STATUSES = ("up", "failed", "removed")
FAILURES = (
    None,
    {"database": "intact"},
    {"database": "lost"},
    {"storage": "lost"},
    {"database": "intact", "storage": "lost"},
)
BACKUPS = (None, "secondary", "own-pool", "azure", "none", "tape")
VERSIONS = ("10.19.58.0", "10.19.202.0", "10.19", "5.1.363.0", "4.2.1092.0", "4.2")


def _set_status(d: dict, status: str, failure: dict | None) -> None:
    d.pop("status", None)
    d.pop("failure", None)
    if status != "up":
        d["status"] = status
    if status == "failed" and failure:
        d["failure"] = dict(failure)


def recase(doc: dict, fn) -> dict:
    """The document with every DPM server, protected server and data source name passed through
    `fn` (definitions and references): a change of case only, which matching must ignore."""

    def ds_id(text: str) -> str:
        server, sep, rest = text.partition("/")
        return fn(server) + sep + fn(rest) if sep else text

    def name(x):
        return fn(x) if isinstance(x, str) else x

    out = copy.deepcopy(doc)
    dpms = {}
    for n, d in out["dpm_servers"].items():
        for k in ("protects", "knows"):
            if k in d:
                d[k] = [fn(x) for x in d[k]]
        for e in d.get("inactive", []):
            e["datasource"] = ds_id(e["datasource"])
            if e.get("from"):
                e["from"] = fn(e["from"])
        dpms[fn(n)] = d
    out["dpm_servers"] = dpms
    servers = {}
    for n, s in out.get("servers", {}).items():
        if isinstance(s.get("agent"), list):
            s["agent"] = [fn(x) for x in s["agent"]]
        elif "agent" in s:
            s["agent"] = name(s["agent"])
        for ds in s.get("datasources", []):
            ds["name"] = fn(ds["name"])
            for k in ("primary", "secondary", "switched_from"):
                if k in ds:
                    ds[k] = name(ds[k])
        servers[fn(n)] = s
    if "servers" in out:
        out["servers"] = servers
    return out


@st.composite
def wild_changes(draw, topology: Topology) -> tuple[Topology, Topology]:
    """(before, after) pairs far from any documented recovery: both snapshots get random
    statuses, failures, `knows`, `protects` and database backups, and sometimes a DPM server of
    their own (`OLD-DPM` before only, `NEW-DPM` after only); data sources get random primaries,
    secondaries and switches, and some exist in one snapshot only; the after snapshot gets other
    versions and, sometimes, every name in another case."""
    doc = document(topology, flow=False)
    names = list(doc["dpm_servers"])
    if not names:
        return topology, topology
    sides = []
    for extra in ("OLD-DPM", "NEW-DPM"):
        side = copy.deepcopy(doc)
        here = list(names)
        if draw(st.integers(0, 2)) == 0:
            side["dpm_servers"][extra] = {"version": doc["dpm_servers"][names[0]]["version"]}
            here.append(extra)
        pick = st.sampled_from(here)
        maybe = st.one_of(st.none(), pick)
        for d in side["dpm_servers"].values():
            if draw(st.integers(0, 2)) == 0:
                _set_status(d, draw(st.sampled_from(STATUSES)), draw(st.sampled_from(FAILURES)))
            if draw(st.integers(0, 3)) == 0:
                d["knows"] = draw(st.lists(pick, unique=True, max_size=2))
            if draw(st.integers(0, 3)) == 0:
                d["protects"] = draw(st.lists(pick, unique=True, max_size=2))
            if draw(st.integers(0, 3)) == 0:
                backup = draw(st.sampled_from(BACKUPS))
                database = dict(d.get("database", {}))
                database.pop("backup", None)
                if backup is not None:
                    database["backup"] = backup
                d["database"] = database
        for server, s in side.get("servers", {}).items():
            kept = []
            for ds in s.get("datasources", []):
                if draw(st.integers(0, 2)) == 0:
                    ds["primary"] = draw(maybe)
                    ds["secondary"] = draw(maybe)
                    if draw(st.booleans()):
                        ds["mode"] = "switched"
                        ds["switched_from"] = draw(pick)
                    else:
                        ds["mode"] = "normal"
                        ds.pop("switched_from", None)
                if draw(st.integers(0, 9)) == 0:  # in this snapshot only, under another name
                    old = f"{server}/{ds['name']}".casefold()
                    ds["name"] = ds["name"] + "~" + extra
                    for w in side.get("waivers", []):
                        if (w.get("target") or "").casefold() == old:
                            w["target"] = f"{server}/{ds['name']}"
                    for other in side.get("servers", {}).values():  # a farm's databases
                        for x in other.get("datasources", []):
                            if (x.get("farm") or "").casefold() == old:
                                x["farm"] = f"{server}/{ds['name']}"
                kept.append(ds)
            if kept:
                s["datasources"] = kept
        sides.append(side)
    before, after = sides
    for d in after["dpm_servers"].values():
        if draw(st.integers(0, 3)) == 0:
            d["version"] = draw(st.sampled_from(VERSIONS))
    how = draw(st.sampled_from([None, str.lower, str.upper, str.swapcase]))
    if how is not None:
        after = recase(after, how)
    try:
        return document_to_topology(before), document_to_topology(after)
    except dpmsmt.TopologyError as e:  # pragma: no cover - a bug of this strategy
        raise AssertionError(f"wild_changes made an unreadable file: {e}") from e


@capped(60)
@given(st.data())
def test_change_rules_agree_on_wild_changes(data):
    t = data.draw(topologies(max_dpm=5))
    before, after = data.draw(wild_changes(t))
    assert_change_agree(before, after)


@capped(20)
@given(st.data())
def test_change_rules_agree_on_suggested_plans(data):
    t = data.draw(topologies(valid=True, min_dpm=2, max_dpm=4))
    assume(any(d.up for d in t.dpm_servers.values()))
    failed = sorted(data.draw(failures(t, max_size=2)))
    note(f"failed: {failed}")
    result = synthesize(t, failed=failed, top=2)
    before, failed_state = at_failure(t, failed)
    for plan in result.plans:
        states = [plan.immediate_state, plan.final_state]
        for after in states:
            assert_change_agree(t, after)
            assert_change_agree(failed_state, after)
            assert_change_agree(before, after)
        assert_change_agree(plan.immediate_state, plan.final_state)


# -- (b) round trip ------------------------------------------------------------------------------


@capped(15)
@given(st.data())
def test_plan_states_survive_dump_and_loads(data):
    t = data.draw(topologies(min_dpm=1, max_dpm=4))
    up = [n for n, d in t.dpm_servers.items() if d.up]
    assume(up)
    failed = sorted(data.draw(failures(t, max_size=2)))
    plans = dpmsmt.suggest_moves(t, failed=failed, top=2)
    _, failed_state = at_failure(t, failed)
    for plan in plans:
        assert dpmsmt.apply(t, plan) == plan.final_state
        # the states are the actions applied to the estate after the failure, phase by phase
        assert apply_actions(failed_state, plan.immediate) == plan.immediate_state
        assert apply_actions(plan.immediate_state, plan.final) == plan.final_state
        assert apply_actions(failed_state, plan.actions) == plan.final_state
        for state in (plan.immediate_state, plan.final_state):
            again = dpmsmt.loads(dump(state))
            assert again == state, dump(state)
            assert dump(again) == dump(state)


# -- (c) suggest-move --apply, then check --before -----------------------------------------------


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


def primaries(t: Topology) -> list[str]:
    return sorted(
        {ds.primary for ds in t.datasources() if ds.primary and t.dpm_servers[ds.primary].up}
    )


@capped(
    10,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
@given(
    t=topologies(valid=True, min_dpm=2, max_dpm=4),
    which=st.integers(0, 3),
    apply_n=st.integers(1, 2),
)
def test_applied_plan_passes_check_against_the_original(
    tmp_path_factory, capsys, t, which, apply_n
):
    ups = primaries(t) or [n for n, d in t.dpm_servers.items() if d.up]
    assume(ups)
    fail = ups[which % len(ups)]
    folder = tmp_path_factory.mktemp("apply")
    original = folder / "original.yaml"
    original.write_text(dump(t), encoding="utf-8")
    out = folder / "after.yaml"
    code, stdout, err = run(
        [
            "suggest-move",
            str(original),
            "--fail",
            fail,
            "--top",
            "2",
            "--format",
            "json",
            "--apply",
            str(apply_n),
            "--output",
            str(out),
        ],
        capsys,
    )
    if code == 2:  # fewer plans than apply_n
        assert "there are" in err and not out.exists()
        return
    assert code in (0, 1), err
    suggestion = json.loads(stdout)
    (plan,) = suggestion["plans"]  # only the plan applied is printed
    assert plan["rank"] == apply_n
    preexisting = set(suggestion["preexisting"])
    assert out.exists()
    code2, stdout2, err2 = run(
        ["check", str(out), "--before", str(original), "--format", "json", "--today", TODAY],
        capsys,
    )
    assert code2 in (0, 1), err2
    report = json.loads(stdout2)
    new = [
        f
        for f in report["findings"]
        if f["severity"] == "error" and not f["waived"] and f["fingerprint"] not in preexisting
    ]
    if plan["complete"]:
        assert new == [], json.dumps(new, indent=1)
    else:
        # a partial plan leaves what it says it leaves down, and nothing else
        left = set(plan["unprotected"])
        assert [
            f for f in new if not (f["rule"] in IGNORED and f["entities"]["datasource"] in left)
        ] == []
    # the file is the plan's actions, as the JSON names them, applied to the failed estate
    written = dpmsmt.load(out)
    _, state = at_failure(t, [fail])
    actions = [
        Action(
            a["action"],
            server=a.get("server"),
            dpm=a.get("dpm"),
            from_=a.get("from"),
            to=a.get("to"),
            datasources=tuple(a.get("datasources", ())),
            version=t.dpm_servers[a["from"]].version if a["action"] == "new-dpm" else None,
        )
        for a in plan["actions"]
    ]
    dropped = [w["waiver"] for w in plan["unused_waivers"]]  # --apply leaves them out
    assert written == without_waivers(apply_actions(state, actions), dropped)
