"""The protection relation as networkx graphs, and pure queries on it.

`protection_graph` has one node per DPM server and an edge x -> y for every `P(x, y)` (x is the
secondary of y). Chains, 2-cycles, longer cycles and components are read from it.
`estate_graph` adds protected servers (agent edges) and data sources (primary/secondary edges),
for pictures and whole-estate queries; checking never builds it, so large estates stay cheap.
"""

from __future__ import annotations

import networkx as nx

from dpmsmt.model import Topology, canon

__all__ = [
    "chains",
    "components",
    "cyclic_components",
    "estate_graph",
    "knows",
    "mutual_pairs",
    "protection_graph",
]


def protection_graph(topology: Topology) -> nx.DiGraph:
    """DPM servers as nodes (with their records), `P(x, y)` as edges x -> y."""
    g = nx.DiGraph()
    for name, d in topology.dpm_servers.items():
        g.add_node(name, dpm=d)
    for name, d in topology.dpm_servers.items():
        for y in d.protects:
            g.add_edge(name, y)
    return g


def _sorted(names) -> tuple[str, ...]:
    return tuple(sorted(names, key=canon))


def components(g: nx.DiGraph) -> list[tuple[str, ...]]:
    """Weakly connected components with at least one edge, each sorted; sorted by first name."""
    out = [
        _sorted(c)
        for c in nx.weakly_connected_components(g)
        if len(c) > 1 or any(g.has_edge(n, n) for n in c)
    ]
    return sorted(out, key=lambda c: [canon(n) for n in c])


def component_of(g: nx.DiGraph, node: str) -> frozenset[str]:
    """`component(d)`: the DPM servers connected to d through P edges in either direction."""
    return frozenset(nx.node_connected_component(g.to_undirected(as_view=True), node))


def cyclic_components(g: nx.DiGraph) -> list[tuple[str, ...]]:
    """Strongly connected components of two or more servers, each sorted."""
    out = [_sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1]
    return sorted(out, key=lambda c: [canon(n) for n in c])


def mutual_pairs(g: nx.DiGraph, nodes) -> set[frozenset[str]]:
    """The 2-cycles (x protects y and y protects x) among `nodes`."""
    nodes = set(nodes)
    return {
        frozenset((x, y)) for x, y in g.edges(nodes) if x != y and y in nodes and g.has_edge(y, x)
    }


def chains(g: nx.DiGraph) -> list[tuple[str, ...]]:
    """Maximal chains in protection order (primary first: DPM1 <- DPM2 <- DPM3 is DPM1, DPM2, DPM3).

    A chain starts at a server that protects no one and follows `protected by` edges upwards
    while each server has exactly one protector and the path does not revisit a server.
    """
    out = []
    for start in sorted(g.nodes, key=canon):
        if any(v != start for v in g.successors(start)):
            continue
        if not any(u != start for u in g.predecessors(start)):
            continue
        chain = [start]
        while True:
            ups = [u for u in g.predecessors(chain[-1]) if u != chain[-1]]
            if len(ups) != 1 or ups[0] in chain:
                break
            chain.append(ups[0])
        out.append(tuple(chain))
    return out


def knows(topology: Topology, g: nx.DiGraph, s: str) -> frozenset[str]:
    """`knows(s)`: component(s) ∪ s.knows ∪ {n : s ∈ n.knows} (rules.md, Q6)."""
    out = set(component_of(g, s))
    out.update(topology.dpm_servers[s].knows)
    out.update(n for n, d in topology.dpm_servers.items() if s in d.knows)
    return frozenset(out)


def estate_graph(topology: Topology) -> nx.MultiDiGraph:
    """The whole estate: DPM servers, protected servers and data sources with typed edges.

    Edges: `protects` (secondary -> primary DPM), `agent` (DPM -> protected server),
    `has` (protected server -> data source), `primary` and `secondary` (DPM -> data source).
    """
    g = nx.MultiDiGraph()
    for name, d in topology.dpm_servers.items():
        g.add_node(name, kind="dpm", dpm=d)
    for name, d in topology.dpm_servers.items():
        for y in d.protects:
            g.add_edge(name, y, kind="protects")
    for name, s in topology.servers.items():
        g.add_node(name, kind="server", server=s)
        for a in s.agents:
            g.add_edge(a, name, kind="agent")
        for ds in s.datasources:
            g.add_node(ds.id, kind="datasource", datasource=ds)
            g.add_edge(name, ds.id, kind="has")
            if ds.primary:
                g.add_edge(ds.primary, ds.id, kind="primary")
            if ds.secondary:
                g.add_edge(ds.secondary, ds.id, kind="secondary")
    return g
