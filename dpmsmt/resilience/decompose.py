"""The estate's static structure, and the independent parts of a failure set.

- `comp(d)`: the weakly connected component of DPM server d in the protection graph (`P(x, y)`
  edges) of the file; a server with no edge is its own component.
- `touch(d)`: the protected servers with a data source whose `primary`, `secondary` or
  `switched_from` is d, or whose agent is d.
- A DPM server is **irrelevant** when it is the primary of no data source and nobody's secondary:
  no data source names it as `secondary` and it protects no DPM server.
- Two failed servers **interact statically** when they are in the same component or some
  protected server touches both. The **parts** of a failure set are the connected pieces of that
  relation; a set of one part is solved.
- The **reach** of DPM servers is the union of their components.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import networkx as nx

from dpmsmt.graph import protection_graph
from dpmsmt.model import Topology, canon
from dpmsmt.resilience.result import set_order

__all__ = ["Estate"]


@dataclass(frozen=True)
class Estate:
    """What decomposition reads of the file: computed once per analysis."""

    topology: Topology
    candidates: tuple[str, ...]  # up DPM servers, by name
    already_down: tuple[str, ...]
    comp: dict[str, frozenset[str]]
    touch: dict[str, frozenset[str]]
    irrelevant: frozenset[str]
    base: dict[str, int]  # data sources each DPM server holds as primary or secondary

    @classmethod
    def of(cls, topology: Topology) -> Estate:
        dpms = topology.dpm_servers
        candidates = tuple(sorted((n for n, d in dpms.items() if d.up), key=canon))
        touch, relevant, base = _touch_and_load(topology)
        return cls(
            topology=topology,
            candidates=candidates,
            already_down=tuple(sorted((n for n, d in dpms.items() if not d.up), key=canon)),
            comp=_components(topology),
            touch=touch,
            irrelevant=frozenset(n for n in candidates if n not in relevant),
            base=base,
        )

    def interact(self, a: str, b: str) -> bool:
        """Whether two failed servers interact statically (same component, or a server both
        touch)."""
        return self.comp[a] == self.comp[b] or bool(self.touch[a] & self.touch[b])

    def parts(self, failed: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The connected pieces of the static interaction relation among the failed servers."""
        if len(failed) == 2 and not self.interact(*failed):  # most sets: no graph to build
            return sorted(((failed[0],), (failed[1],)), key=set_order)
        g = nx.Graph()
        g.add_nodes_from(failed)
        for a, b in itertools.combinations(failed, 2):
            if self.interact(a, b):
                g.add_edge(a, b)
        parts = [tuple(sorted(c, key=canon)) for c in nx.connected_components(g)]
        return sorted(parts, key=set_order)

    def one_part(self, failed: tuple[str, ...]) -> bool:
        """Whether the failed servers all interact statically (such a set is always solved)."""
        if len(failed) == 2:
            return self.interact(*failed)
        return len(self.parts(failed)) == 1

    def reach(self, dpms: Iterable[str]) -> frozenset[str]:
        """The components of the named DPM servers (a new server's is nothing of the estate)."""
        out: set[str] = set()
        for d in dpms:
            out |= self.comp.get(d, frozenset())
        return frozenset(out)


def _components(topology: Topology) -> dict[str, frozenset[str]]:
    g = protection_graph(topology).to_undirected(as_view=True)
    comp: dict[str, frozenset[str]] = {}
    for c in nx.connected_components(g):
        fc = frozenset(c)
        for n in c:
            comp[n] = fc
    return comp


def _touch_and_load(topology: Topology):
    """touch(d) per DPM server, the relevant DPM servers, and each one's load."""
    dpms = topology.dpm_servers
    touch: dict[str, set[str]] = {n: set() for n in dpms}
    relevant: set[str] = {n for n, d in dpms.items() if d.protects}
    base = dict.fromkeys(dpms, 0)
    for server in topology.servers.values():
        for a in server.agents:
            if a in touch:
                touch[a].add(server.name)
        for ds in server.datasources:
            for d in (ds.primary, ds.secondary, ds.switched_from):
                if d in touch:
                    touch[d].add(server.name)
            if ds.primary is not None:
                relevant.add(ds.primary)
                base[ds.primary] += 1
            if ds.secondary is not None:
                relevant.add(ds.secondary)
                if ds.secondary != ds.primary:
                    base[ds.secondary] += 1
    return {n: frozenset(s) for n, s in touch.items()}, relevant, base
