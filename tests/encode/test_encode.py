"""The layers under the rules: facts without Z3, one home per scope, snapshots that share work.

`dpmsmt.encode.facts` is what rules read; it imports neither Z3 nor a rule, so the rules depend
on it and not the other way round. Each `Scope` is listed by `View.instances` (one snapshot) or
`ChangeView.instances` (two); a rule's scope says which.
"""

from __future__ import annotations

import dataclasses
import pickle
import subprocess
import sys
import textwrap

import dpmsmt
from dpmsmt.encode import ChangeView, Inactive, Scope, View, inactive_replicas
from dpmsmt.rules import all_rules

ESTATE = textwrap.dedent(
    """\
    dpmsmt: 1
    tape_libraries: {L1: {}}
    dpm_servers:
      DPM1: {version: "10.19.58.0", protects: [DPM2], tape_library: L1}
      DPM2: {version: "10.19.58.0", protects: [DPM1], tape_library: L1}
      DPM3:
        version: "10.19.58.0"
        inactive: [{datasource: "fs1/d:", from: DPM2}, {datasource: "FS9/X:"}]
    servers:
      FS1:
        agent: DPM2
        datasources:
          - {name: "D:", secondary: DPM1}
          - {name: "E:", secondary: DPM1}
    """
)


def test_facts_import_neither_z3_nor_a_rule():
    code = (
        "import sys, dpmsmt.encode.facts;"
        "bad = [m for m in sys.modules if m == 'z3' or m.startswith('dpmsmt.rules')];"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_scope_is_listed_by_the_view_of_its_kind():
    topology = dpmsmt.loads(ESTATE, file="t.yaml")
    view = View(topology, "2019")
    change = ChangeView(View(topology, "2019"), view)
    for scope in Scope:
        listed = (change if scope.change else view).instances(scope)
        assert listed is not None, scope
    assert view.instances(Scope.CYCLE) == [("DPM1", "DPM2")]
    assert view.instances(Scope.LIBRARY) == [("L1", ("DPM1", "DPM2"))]
    groups = view.instances(Scope.DATASOURCE)
    assert [len(g) for g in groups.values()] == [2], "equal facts: one instance"
    assert change.instances(Scope.CHANGE_DPM) == [(n, n) for n in ("DPM1", "DPM2", "DPM3")]


def test_the_change_rules_are_the_rules_of_the_change_scopes():
    change = {r.id for r in all_rules() if r.change}
    assert change == {r.id for r in all_rules() if r.scope is not None and r.scope.change}
    assert {r.family for r in all_rules() if r.change} == {"change"}


def test_snapshots_derived_by_replace_share_the_grouping_of_their_data_sources():
    servers = {
        f"S{i}": dpmsmt.model.ProtectedServer(f"S{i}", ("DPM1",), datasources=())
        for i in range(300)
    }
    topology = dataclasses.replace(dpmsmt.loads(ESTATE, file="t.yaml"), servers=servers)
    failed = dataclasses.replace(topology, dpm_servers=dict(topology.dpm_servers))
    assert View(failed, "2019").datasource_groups is View(topology, "2019").datasource_groups
    copy = pickle.loads(pickle.dumps(dataclasses.replace(topology, locate=None)))
    assert copy.servers == topology.servers
    assert View(copy, "2019").datasource_groups == View(topology, "2019").datasource_groups


def test_inactive_replicas_name_the_data_sources_that_still_exist():
    topology = dpmsmt.loads(ESTATE, file="t.yaml")
    d = topology.datasource_by_id["fs1/d:"]
    assert inactive_replicas(topology, ["DPM1", "DPM3"]) == [Inactive("DPM3", 0, "DPM2", d)]
    assert View(topology, "2019").instances(Scope.INACTIVE) == [Inactive("DPM3", 0, "DPM2", d)]
