"""suggest-move: every action offered where its precondition holds and absent where it does not,
the seed's documented options, explanations of blocked data sources, --apply, and the CLI."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from paths import REPO_DIR

import dpmsmt
from dpmsmt.actions import Action, apply_actions
from dpmsmt.cli import main
from dpmsmt.model import Failure
from dpmsmt.optimize.search import lexmin
from dpmsmt.recovery import synthesize
from dpmsmt.recovery.verify import Verifier

ROOT = REPO_DIR
SEED = ROOT / "models" / "seed" / "before.yaml"


def seed():
    return dpmsmt.load(SEED)


def actions_of(plans):
    return [{(a.action, a.server or a.dpm, a.from_, a.to) for a in p.actions} for p in plans]


def all_actions(plans):
    return set().union(*actions_of(plans)) if plans else set()


def run(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out = capsys.readouterr()
    return exc.value.code, out.out, out.err


# -- the seed ---------------------------------------------------------------------------------


def test_seed_dpm1_failed_offers_only_documented_options():
    result = synthesize(seed(), failed=["DPM1"], top=10)
    assert result.complete and result.optimal
    first = result.plans[0]
    # switch now, rebuild DPM1, switch back: keeps history and secondary protection
    assert [(a.action, a.server or a.dpm) for a in first.immediate] == [("switch", "Server1")]
    assert [(a.action, a.server or a.dpm) for a in first.final] == [
        ("rebuild", "DPM1"),
        ("switch-back", "Server1"),
    ]
    assert first.cost == {
        "unprotected": 0,
        "history_broken": 0,
        "exposure": 1,
        "secondary_lost": 0,
        "new_servers": 0,
        "rebuilds": 1,
        "repointed": 1,
        "max_load": 2,
    }
    seen = all_actions(result.plans)
    kinds = {a[0] for a in seen}
    assert kinds <= {"switch", "switch-back", "rebuild", "move", "new-dpm"}
    assert ("switch", "Server1", "DPM1", "DPM3") in seen
    assert ("new-dpm", "Server1", "DPM1", "NEW-DPM-1") in seen
    # never scenario 1 (to DPM2, which DPM3 knows) nor scenario 2 (DPM3 as an ordinary primary)
    assert not {a for a in seen if a[0] == "move" and a[3] in ("DPM2", "DPM3")}


def test_seed_move_to_a_dpm_the_secondary_does_not_know_is_offered():
    t = dpmsmt.loads(
        SEED.read_text()
        .replace("servers:\n  Server1:", "servers:\n  Server1:", 1)
        .replace("dpm_servers:\n", 'dpm_servers:\n  DPM4:\n    version: "4.2.1092.0"\n', 1),
        file="seed4.yaml",
    )
    result = synthesize(t, failed=["DPM1"], top=10, allow=["move"])
    assert all_actions(result.plans) == {("move", "Server1", "DPM1", "DPM4")}
    plan = result.plans[0]
    assert plan.complete and plan.cost["history_broken"] == 1
    # DPM3 keeps the replica it held as an inactive data source, and the single snapshot is clean
    final = plan.final_state
    assert [(e.datasource, e.from_) for e in final.dpm_servers["DPM3"].inactive] == [
        ("Server1/D:\\", "DPM1")
    ]
    assert dpmsmt.check(final, before=t).verdict == "valid"


def test_seed_only_moves_allowed_explains_the_block():
    result = synthesize(seed(), failed=["DPM1"], allow=["move"])
    assert not result.complete
    plan = result.plans[0]
    assert plan.unprotected == ("Server1/D:\\",)
    assert plan.blocked_by == {"Server1/D:\\": ["NO-MOVE-UNDER-SECONDARY"]}


def test_dpm3_failed_offers_reassign_secondary_for_dpm1_and_dpm2():
    result = synthesize(seed(), failed=["DPM3"], top=5)
    first = result.plans[0]
    assert {(a.action, a.dpm, a.from_) for a in first.actions} == {
        ("reassign-secondary", "DPM1", "DPM3"),
        ("reassign-secondary", "DPM2", "DPM3"),
    }
    assert first.cost["secondary_lost"] == 0
    assert dpmsmt.check(first.final_state).verdict == "valid"


# -- each action: offered, and blocked by its precondition -------------------------------------

NO_SECONDARY = """
dpmsmt: 1
dpm_servers:
  DPM1: {version: "10.19.58.0", database: {backup: azure, sql: remote}}
  DPM2: {version: "10.19.58.0"}
servers:
  S1: {agent: DPM1, datasources: [{name: 'C:\\'}]}
"""


def test_switch_needs_a_secondary():
    t = dpmsmt.loads(NO_SECONDARY, file="t.yaml")
    kinds = {a[0] for a in all_actions(synthesize(t, failed=["DPM1"], top=10).plans)}
    assert "switch" not in kinds and "switch-back" not in kinds
    # with nothing protecting DPM1, a move anywhere is legal
    assert "move" in kinds


def test_switch_needs_the_secondary_up():
    kinds = {a[0] for a in all_actions(synthesize(seed(), failed=["DPM1", "DPM3"], top=10).plans)}
    assert "switch" not in kinds


def test_rebuild_offered_with_a_surviving_backup_and_blocked_without():
    assert ("rebuild", "DPM1", None, None) in all_actions(
        synthesize(seed(), failed=["DPM1"], top=10).plans
    )
    # DPM1 backs its database up to its secondary DPM3; with DPM3 down too, no backup survives
    both = all_actions(synthesize(seed(), failed=["DPM1", "DPM3"], top=10).plans)
    assert ("rebuild", "DPM1", None, None) not in both
    # a removed server never comes back
    removed = all_actions(synthesize(seed(), removed=["DPM1"], top=10).plans)
    assert not {a for a in removed if a[0] in ("rebuild", "switch-back")}


def test_switch_back_only_after_a_rebuild():
    with_rebuild = synthesize(seed(), failed=["DPM1"], top=10).plans
    assert any(a.action == "switch-back" for p in with_rebuild for a in p.final)
    without = synthesize(seed(), failed=["DPM1"], top=10, allow=["switch", "switch-back"]).plans
    assert not any(a.action == "switch-back" for p in without for a in p.actions)


def test_new_dpm_offered_and_excluded_by_allow():
    assert any(
        a[0] == "new-dpm" for a in all_actions(synthesize(seed(), failed=["DPM1"], top=10).plans)
    )
    assert not any(
        a[0] == "new-dpm"
        for a in all_actions(synthesize(seed(), failed=["DPM1"], top=10, allow=["switch"]).plans)
    )


MABS_ONLY = """
dpmsmt: 1
dpm_servers:
  DPM1: {version: "10.19.58.0"}
  DPM3: {version: "10.19.58.0", protects: [DPM1]}
  MABS1: {version: "10.19.58.0", kind: mabs}
  OLD: {version: "5.1.363.0"}
servers:
  S1: {agent: DPM1, datasources: [{name: 'C:\\', secondary: DPM3}]}
"""


def test_reassign_secondary_blocked_by_mabs_and_versions():
    t = dpmsmt.loads(MABS_ONLY, file="t.yaml")
    result = synthesize(t, failed=["DPM3"], top=10)
    # MABS cannot be a secondary, OLD runs another version: no new secondary for DPM1
    assert not any(a[0] == "reassign-secondary" for a in all_actions(result.plans))
    assert result.plans[0].cost["secondary_lost"] == 1
    t2 = dpmsmt.loads(
        MABS_ONLY.replace('OLD: {version: "5.1.363.0"}', 'NEW: {version: "10.19.58.0"}')
    )
    offered = all_actions(synthesize(t2, failed=["DPM3"], top=10).plans)
    assert ("reassign-secondary", "DPM1", "DPM3", "NEW") in offered


# -- ranking, determinism and the CLI ---------------------------------------------------------


def test_rank_reorders_criteria():
    default = synthesize(seed(), failed=["DPM1"], top=1).plans[0]
    fewer_rebuilds = synthesize(seed(), failed=["DPM1"], top=1, rank=["rebuilds"]).plans[0]
    assert default.cost["rebuilds"] == 1
    assert fewer_rebuilds.cost["rebuilds"] == 0


def test_top_plans_differ_and_json_is_deterministic(capsys):
    code, out1, _ = run(
        ["suggest-move", str(SEED), "--fail", "DPM1", "--format", "json", "--top", "4"], capsys
    )
    code2, out2, _ = run(
        ["suggest-move", str(SEED), "--fail", "DPM1", "--format", "json", "--top", "4"], capsys
    )
    assert code == code2 == 0
    assert out1 == out2
    doc = json.loads(out1)
    assert doc["schema"] == "dpmsmt/1" and doc["command"] == "suggest-move"
    assert doc["failed"] == ["DPM1"] and doc["optimal"] is True
    keys = [json.dumps(p["actions"], sort_keys=True) for p in doc["plans"]]
    assert len(set(keys)) == len(keys) == 4
    assert [p["rank"] for p in doc["plans"]] == [1, 2, 3, 4]
    for action in doc["plans"][0]["actions"]:
        assert action["steps"]


def test_apply_writes_a_state_that_passes_check(tmp_path, capsys):
    out = tmp_path / "after.yaml"
    code, _, err = run(
        ["suggest-move", str(SEED), "--fail", "DPM1", "--apply", "2", "--output", str(out)], capsys
    )
    assert code == 0 and "wrote plan 2" in err
    code, _, _ = run(["check", str(out), "--before", str(SEED)], capsys)
    assert code == 0
    # an existing file is not overwritten without --force
    code, _, err = run(
        ["suggest-move", str(SEED), "--fail", "DPM1", "--apply", "1", "--output", str(out)], capsys
    )
    assert code == 2 and err.startswith("dpmsmt: error: --output") and err.count("\n") == 1
    code, _, _ = run(
        [
            "suggest-move",
            str(SEED),
            "--fail",
            "DPM1",
            "--apply",
            "1",
            "--output",
            str(out),
            "--force",
        ],
        capsys,
    )
    assert code == 0


def test_cli_exit_codes(capsys):
    assert run(["suggest-move", str(SEED), "--fail", "DPM1"], capsys)[0] == 0
    assert run(["suggest-move", str(SEED), "--fail", "DPM1", "--allow", "move"], capsys)[0] == 1
    for bad in (
        ["--fail", "DPM9"],
        ["--allow", "teleport", "--fail", "DPM1"],
        ["--rank", "speed", "--fail", "DPM1"],
        [],
    ):
        code, _, err = run(["suggest-move", str(SEED), *bad], capsys)
        assert code == 2 and err.startswith("dpmsmt: error: ") and err.count("\n") == 1


def test_cli_yaml_and_text(capsys):
    import yaml

    code, out, _ = run(
        ["suggest-move", str(SEED), "--fail", "DPM1", "--format", "yaml", "--top", "1"], capsys
    )
    assert code == 0 and yaml.safe_load(out)["plans"][0]["rank"] == 1
    code, out, _ = run(
        ["suggest-move", str(SEED), "--fail", "DPM1", "--top", "1", "--no-color"], capsys
    )
    assert "Start-DPMSwitchProtection" in out and "DpmSync -RestoreDb" in out


def test_failed_server_in_file_is_picked_up():
    t = dpmsmt.load(ROOT / "models" / "seed" / "dpm1-failed.yaml")
    result = synthesize(t, top=1)
    assert result.failed == ("DPM1",)
    assert result.plans[0].complete


# -- the solver's time limit ----------------------------------------------------------------------


def test_time_limit_shows_the_best_plan_so_far_not_optimal_and_exits_3(capsys, monkeypatch):
    """The search stops at its limit with a model (Z3 answers `unknown` after a first model):
    that plan is shown with "optimal": false and the exit code is 3."""
    import z3

    real = z3.Solver.check

    def stops_at_its_limit(self, *assumptions):
        """A first model, then the search gives up on its first bound (posed as an assumption)."""
        return z3.unknown if assumptions else real(self)

    monkeypatch.setattr(z3.Solver, "check", stops_at_its_limit)
    code, out, _ = run(
        ["suggest-move", str(SEED), "--fail", "DPM1", "--format", "json", "--top", "3"], capsys
    )
    doc = json.loads(out)
    assert code == 3
    assert doc["optimal"] is False
    assert len(doc["plans"]) == 1  # no further plans are searched once the limit is reached
    assert doc["plans"][0]["complete"]


def test_time_limit_without_any_plan_exits_3(capsys, monkeypatch):
    import z3

    real_for, real_check, search = z3.SolverFor, z3.Solver.check, []

    def solver_for(logic):  # the optimizer's solvers (`check` uses plain ones)
        search.append(real_for(logic))
        return search[-1]

    def check(self, *assumptions):
        return z3.unknown if any(s is self for s in search) else real_check(self, *assumptions)

    monkeypatch.setattr(z3, "SolverFor", solver_for)
    monkeypatch.setattr(z3.Solver, "check", check)
    code, out, err = run(["suggest-move", str(SEED), "--fail", "DPM1"], capsys)
    assert (code, out) == (3, "")
    assert err.startswith("dpmsmt: error: the solver gave up")


# -- the lexicographic search -----------------------------------------------------------------


def _lex_problem():
    import z3

    x, y, z = z3.Ints("x y z")
    cons = [x >= 0, y >= 0, z >= 0, x + y >= 5, y + z >= 4, x <= 7, z <= 2]
    return cons, [x + 0, 2 * y + z, z]


def test_lexmin_finds_the_lexicographic_least_costs():
    import itertools

    import z3

    cons, costs = _lex_problem()
    result, model, reason = lexmin("", cons, costs, 10)
    assert result == z3.sat and reason is None
    got = [model.eval(c).as_long() for c in costs]
    best = min(
        (a, 2 * b + c, c)
        for a, b, c in itertools.product(range(8), range(10), range(3))
        if a + b >= 5 and b + c >= 4
    )
    assert tuple(got) == best == (0, 10, 0)


def test_lexmin_returns_the_best_model_so_far_when_the_solver_gives_up(monkeypatch):
    import z3

    cons, costs = _lex_problem()
    real, calls = z3.Solver.check, []

    def gives_up_after_the_first_model(self, *args):
        calls.append(args)
        return real(self, *args) if len(calls) == 1 else z3.unknown

    monkeypatch.setattr(z3.Solver, "check", gives_up_after_the_first_model)
    result, model, _ = lexmin("", cons, costs, 10)
    assert result == z3.unknown and model is not None and len(calls) == 2
    assert z3.is_true(model.eval(z3.And(cons)))  # a model of the constraints, not optimal


def test_lexmin_unsat_and_unknown_without_a_model(monkeypatch):
    import z3

    x = z3.Int("x")
    assert lexmin("", [x > 1, x < 1], [x], 10)[:2] == (z3.unsat, None)
    monkeypatch.setattr(z3.Solver, "check", lambda self, *args: z3.unknown)
    result, model, _ = lexmin("", [x > 1], [x], 10)
    assert (result, model) == (z3.unknown, None)


def test_the_same_question_twice_in_one_process_gets_the_same_plans():
    """Z3's choice among equally good plans depends on the terms its context holds; synthesize
    runs in a fresh context (and the cached pre-failure check in its own), so asking again
    after other questions gives the same plans. (Without that, this estate's second answer
    differed.)"""
    import sys

    sys.path.insert(0, str(REPO_DIR / "benchmarks"))
    from estates import generate

    t = dpmsmt.loads(json.dumps(generate(20, 2000, seed=0)), format="json", file="e20.json")
    first = synthesize(t, failed=["DPM-NYC-03"], top=2)
    synthesize(t, failed=["DPM-NYC-01"], top=1)
    again = synthesize(t, failed=["DPM-NYC-03"], top=2)
    assert [p.to_json() for p in again.plans] == [p.to_json() for p in first.plans]


# -- issue 11: wrong answers ------------------------------------------------------------------

SWITCHED_CHAIN = ROOT / "models" / "suggest" / "switched-chain.yaml"


def test_an_error_the_estate_had_does_not_hide_the_plan():
    """A new secondary for DPM-SFO-02 used to hand the switched SFO-EX001/C:\\ a secondary
    again (its SWITCHED-NO-SECONDARY error under a new fingerprint): every best plan failed its
    proof and `--top 1` found none, while `--top 2` found two."""
    topology = dpmsmt.load(SWITCHED_CHAIN)
    alone = synthesize(topology, failed=["DPM-SFO-03"], top=1)
    several = synthesize(topology, failed=["DPM-SFO-03"], top=3)
    assert alone.optimal and [p.complete for p in alone.plans] == [True]
    assert alone.plans[0].cost == several.plans[0].cost
    # the switched data source had an up secondary (DPM-SFO-03) and has none: lost, and named
    assert alone.plans[0].cost["secondary_lost"] == 1
    assert alone.plans[0].loses["secondary_protection"] == ["SFO-EX001/C:\\"]


def test_an_error_the_estate_had_does_not_hide_the_plan_cli(capsys):
    argv = ["suggest-move", str(SWITCHED_CHAIN), "--fail", "DPM-SFO-03", "--top", "1"]
    code, out, _ = run([*argv, "--format", "json"], capsys)
    assert code == 0
    doc = json.loads(out)
    assert doc["optimal"] is True
    assert [p["complete"] for p in doc["plans"]] == [True]
    assert doc["plans"][0]["cost"]["unprotected"] == 0


def test_a_new_secondary_gives_no_replica_to_a_switched_server():
    """rules.md `reassign-secondary`: y's data sources get t, except where a rule forbids them
    a secondary (here: a server in switched mode); the plan that does it is legal."""
    topology = dpmsmt.load(SWITCHED_CHAIN)
    action = Action("reassign-secondary", dpm="DPM-SFO-02", from_="DPM-SFO-03", to="DPM-SFO-01")
    after = apply_actions(topology, [action])
    assert after.servers["SFO-EX001"].datasources[0].secondary is None
    plans = synthesize(topology, failed=["DPM-SFO-03"], top=3).plans
    reassigning = [p for p in plans if any(a.action == "reassign-secondary" for a in p.actions)]
    assert reassigning and all(p.complete for p in reassigning)
    for plan in reassigning:
        assert plan.final_state.servers["SFO-EX001"].datasources[0].secondary is None


def test_secondary_lost_names_what_it_counts():
    """Plans 2 and 3 of the seed with DPM3 failed give one of DPM1, DPM2 a new secondary: the
    other one's data source loses its secondary, and the plan says which."""
    plans = synthesize(seed(), failed=["DPM3"], top=3).plans
    assert [(p.cost["secondary_lost"], p.loses["secondary_protection"]) for p in plans] == [
        (0, []),
        (1, ["Server2/D:\\"]),
        (1, ["Server1/D:\\"]),
    ]


def test_secondary_lost_names_what_it_counts_cli(capsys):
    code, out, _ = run(["suggest-move", str(SEED), "--fail", "DPM3", "--format", "json"], capsys)
    assert code == 0
    for plan in json.loads(out)["plans"]:
        assert plan["cost"]["secondary_lost"] == len(plan["loses"]["secondary_protection"])


def test_a_plan_with_nothing_to_do_names_the_secondaries_it_loses():
    """DPM-SFO-03 fails while only the switched data source names it (its servers gone): the
    plan without a new secondary loses that one and says so."""
    topology = dpmsmt.load(SWITCHED_CHAIN)
    servers = {"SFO-EX001": topology.servers["SFO-EX001"]}
    topology = replace(topology, servers=servers)
    for plan in synthesize(topology, failed=["DPM-SFO-03"], top=3).plans:
        assert plan.cost["secondary_lost"] == len(plan.loses["secondary_protection"]) == 1


def test_history_lists_the_data_sources_whose_primary_lost_its_storage():
    """A rebuild after the storage was lost starts a new recovery-point chain
    (HISTORY-LEFT-BEHIND): counted in `history_broken` and named in `loses.history`."""
    topology = seed()
    dpms = dict(topology.dpm_servers)
    dpms["DPM1"] = replace(
        dpms["DPM1"], status="failed", failure=Failure(database="intact", storage="lost")
    )
    topology = replace(topology, dpm_servers=dpms)
    plans = synthesize(topology, top=5, allow=["rebuild"]).plans
    assert plans and plans[0].cost["history_broken"] == 1
    assert plans[0].loses["history"] == ["Server1/D:\\"]


def test_a_plan_the_proof_refuses_is_no_proof_that_none_exists(capsys, monkeypatch):
    """Where `check` refuses the plans the optimizer found (the encoding missed a rule), the
    answer is not "no plan" (exit 1) but not known (exit 3)."""
    monkeypatch.setattr(Verifier, "verify", lambda self, plan: None)
    result = synthesize(seed(), failed=["DPM1"], top=1)
    assert result.plans == () and not result.optimal
    code, _, _ = run(["suggest-move", str(SEED), "--fail", "DPM1", "--top", "1"], capsys)
    assert code == 3


# -- the steps of an action ---------------------------------------------------------------------


def test_an_actions_steps_are_made_again_from_its_data():
    from dpmsmt.steps import describe, renamed

    plans = synthesize(seed(), failed=["DPM1"], top=5).plans
    plans += synthesize(seed(), failed=["DPM1"], top=2, allow=["new-dpm", "rebuild"]).plans
    actions = [a for p in plans for a in p.actions]
    assert {a.action for a in actions} >= {"switch", "new-dpm", "rebuild"}
    for a in actions:
        assert describe(a) == a.steps
        moved = renamed(a, {"DPM1": "DPM9"})
        assert "DPM1 " not in " ".join(moved.steps) and moved.to_json() != a.to_json()
