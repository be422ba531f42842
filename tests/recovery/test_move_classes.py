"""Move targets are grouped into classes (`recovery.options.MoveTargets`): only one target per class is
grounded through the rules, and its verdict stands for the whole class. These properties check
that the classes are exact: on generated estates, grounding every target separately gives the
same legal targets, with the same outcome, as grounding one per class."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from dpmsmt import loads
from dpmsmt.recovery import CRITERIA, problem_of, synthesize
from dpmsmt.strategies import failures, topologies


def legal_moves(problem) -> dict[tuple[str, ...], dict[str, tuple]]:
    """Group (by its servers) -> legal move target -> the moved data sources' (primary,
    secondary) pairs."""
    loads = problem.base_loads
    out = {}
    for g, rows in zip(problem.groups, problem.options.legal_options(loads, True), strict=True):
        moves = {}
        for opt, imm, _fin, _view, _names in rows:
            if opt.kind == "move":
                moves[opt.target] = tuple((ds.primary, ds.secondary) for ds in imm.datasources)
        out[tuple(g.servers)] = moves
    return out


@st.composite
def crowded_estates(draw):
    """Many candidate targets that differ in what rules read of them: protectors (up, failed,
    MABS, two of them), replica scopes, `knows` lists, inactive replicas, dedup and policies."""
    n = draw(st.integers(5, 9))
    names = [f"D{i}" for i in range(n)]
    dpms = {x: {"version": "10.19.58.0", "protects": []} for x in names}
    for y in names:
        for x in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
            if x != y and draw(st.integers(0, 2)) == 0 and y not in dpms[x]["protects"]:
                dpms[x]["protects"].append(y)
        if draw(st.booleans()):
            dpms[y]["secondary_scope"] = ["database", "config", "scripting"]
        if draw(st.integers(0, 3)) == 0:
            dpms[y]["knows"] = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
        if draw(st.integers(0, 5)) == 0:
            dpms[y]["kind"] = "mabs"
        if draw(st.integers(0, 3)) == 0:
            dpms[y]["status"] = "failed"
    protector = {y: [x for x in names if y in dpms[x]["protects"]] for y in names}
    p = names[0]
    dpms[p]["status"] = "up"
    servers = {}
    for i in range(draw(st.integers(1, 3))):
        ds = []
        for j in range(draw(st.integers(1, 2))):
            entry = {"name": f"v{j}", "primary": p}
            if protector[p] and draw(st.booleans()):
                entry["secondary"] = protector[p][0]
            if draw(st.integers(0, 4)) == 0:
                entry["dedup"] = True
            if draw(st.integers(0, 4)) == 0:
                entry["secondary_policy"] = {"long_term": "online"}
            ds.append(entry)
        servers[f"S{i}"] = {"agent": p, "datasources": ds}
        if draw(st.integers(0, 3)) == 0:
            holder = draw(st.sampled_from(names))
            dpms[holder]["inactive"] = [{"datasource": f"S{i}/v0", "from": None}]
    doc = {"dpmsmt": 1, "profile": "2019", "dpm_servers": dpms, "servers": servers}
    return loads(json.dumps(doc), format="json", file="crowded.json"), [p]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowded_estates())
def test_classes_are_exact_on_crowded_estates(case):
    topology, failed = case
    exact = problem_of(topology, failed, classes=False)
    classed = problem_of(topology, failed, classes=True)
    assert legal_moves(classed) == legal_moves(exact)


@st.composite
def estates_with_failures(draw):
    topology = draw(topologies(min_dpm=3, max_dpm=7))
    assume(any(d.up for d in topology.dpm_servers.values()))
    failed = draw(failures(topology, max_size=2))
    return topology, sorted(failed)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates_with_failures())
def test_classes_give_the_legal_targets_of_grounding_every_target(case):
    topology, failed = case
    exact = problem_of(topology, failed, classes=False)
    classed = problem_of(topology, failed, classes=True)
    assert legal_moves(classed) == legal_moves(exact)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(estates_with_failures())
def test_classes_do_not_change_the_best_plan_cost(case):
    """The first seven criteria are exact with classes; `max_load` is placed within the chosen
    classes, so it can only be at least the optimum over every member."""
    topology, failed = case
    best = synthesize(topology, failed=failed, top=1).plans
    exact = problem_of(topology, failed, classes=False)
    plans, _ = exact.solve(1, 60.0)
    assert len(best) == len(plans)
    for ours, theirs in zip(best, plans, strict=True):
        first_seven = [c for c in CRITERIA if c != "max_load"]
        assert [ours.cost[c] for c in first_seven] == [theirs.cost[c] for c in first_seven]
        assert ours.cost["max_load"] >= theirs.cost["max_load"]


def test_a_target_whose_protector_failed_is_not_like_one_whose_protector_is_up():
    """D1 and D2 look alike but D2's protector failed: a server moved there gets no secondary."""
    dpms = {name: {"version": "10.19.58.0"} for name in ("D0", "D1", "D2")}
    dpms["X1"] = {"version": "10.19.58.0", "protects": ["D1"]}
    dpms["X2"] = {"version": "10.19.58.0", "protects": ["D2"], "status": "failed"}
    dpms["S"] = {"version": "10.19.58.0", "protects": ["D0"]}
    doc = {
        "dpmsmt": 1,
        "profile": "2019",
        "dpm_servers": dpms,
        "servers": {
            "S0": {
                "agent": "D0",
                "datasources": [{"name": "v0", "primary": "D0", "secondary": "S"}],
            }
        },
    }
    topology = loads(json.dumps(doc), format="json", file="x.json")
    expected = {("S0",): {"D1": (("D1", "X1"),), "D2": (("D2", None),), "X1": (("X1", None),)}}
    assert legal_moves(problem_of(topology, ["D0"], classes=False)) == expected
    assert legal_moves(problem_of(topology, ["D0"], classes=True)) == expected


def test_servers_of_one_class_are_spread_when_the_base_loads_cannot_hold_them():
    """B and C are one class. S1 and S2 (10 data sources each) cannot both go to B without
    raising the largest load to 25: the least largest load is 15, one on each, by name."""

    def volumes(server, n, primary):
        return [{"name": f"{server}-{i}", "primary": primary} for i in range(n)]

    doc = {
        "dpmsmt": 1,
        "profile": "2019",
        "dpm_servers": {n: {"version": "10.19.58.0"} for n in ("A", "B", "C")},
        "servers": {
            "S1": {"agent": "A", "datasources": volumes("S1", 10, "A")},
            "S2": {"agent": "A", "datasources": volumes("S2", 10, "A")},
            "T1": {"agent": "B", "datasources": volumes("T1", 5, "B")},
            "T2": {"agent": "C", "datasources": volumes("T2", 5, "C")},
        },
    }
    topology = loads(json.dumps(doc), format="json", file="spread.json")
    plan = synthesize(topology, failed=["A"], top=1).plans[0]
    assert [(a.action, a.server, a.to) for a in plan.actions] == [
        ("move", "S1", "B"),
        ("move", "S2", "C"),
    ]
    assert plan.cost["max_load"] == 15
    exact, _ = problem_of(topology, ["A"], classes=False).solve(1, 60.0)
    assert exact[0].cost == plan.cost
