"""The protection relation as a networkx graph: chains, cycles, components, `knows`."""

import dpmsmt
from dpmsmt.graph import (
    chains,
    components,
    cyclic_components,
    estate_graph,
    knows,
    mutual_pairs,
    protection_graph,
)

ESTATE = """
dpmsmt: 1
dpm_servers:
  DPM1: {version: "10.19.58.0"}
  DPM2: {version: "10.19.58.0", protects: [DPM1]}      # DPM1 <- DPM2
  DPM3: {version: "10.19.58.0", protects: [DPM2]}      # DPM1 <- DPM2 <- DPM3: a chain
  A: {version: "10.19.58.0", protects: [B]}            # A <-> B: a 2-cycle
  B: {version: "10.19.58.0", protects: [A], knows: [DPM3]}
  X: {version: "10.19.58.0", protects: [Y]}            # X -> Y -> Z -> X: a longer cycle
  Y: {version: "10.19.58.0", protects: [Z]}
  Z: {version: "10.19.58.0", protects: [X]}
  LONE: {version: "10.19.58.0"}
servers:
  S1: {agent: DPM1, datasources: [{name: 'C:\\', secondary: DPM2}]}
"""


def topology():
    return dpmsmt.loads(ESTATE, file="t.yaml")


def test_edges_are_protection():
    g = protection_graph(topology())
    assert set(g.edges) == {
        ("DPM2", "DPM1"),
        ("DPM3", "DPM2"),
        ("A", "B"),
        ("B", "A"),
        ("X", "Y"),
        ("Y", "Z"),
        ("Z", "X"),
    }


def test_chains_components_and_cycles():
    g = protection_graph(topology())
    assert chains(g) == [("DPM1", "DPM2", "DPM3")]
    assert components(g) == [("A", "B"), ("DPM1", "DPM2", "DPM3"), ("X", "Y", "Z")]
    assert cyclic_components(g) == [("A", "B"), ("X", "Y", "Z")]
    assert mutual_pairs(g, ["A", "B"]) == {frozenset(("A", "B"))}
    assert mutual_pairs(g, ["X", "Y", "Z"]) == set()


def test_knows_is_component_and_registrations_both_ways():
    t = topology()
    g = protection_graph(t)
    assert knows(t, g, "DPM3") == {"DPM1", "DPM2", "DPM3", "B"}  # B lists DPM3 in `knows`
    assert knows(t, g, "B") == {"A", "B", "DPM3"}
    assert knows(t, g, "LONE") == {"LONE"}


def test_estate_graph_has_agents_and_datasources():
    g = estate_graph(topology())
    kinds = {(u, v, k["kind"]) for u, v, k in g.edges(data=True)}
    assert ("DPM1", "S1", "agent") in kinds
    assert ("S1", "S1/C:\\", "has") in kinds
    assert ("DPM1", "S1/C:\\", "primary") in kinds
    assert ("DPM2", "S1/C:\\", "secondary") in kinds
