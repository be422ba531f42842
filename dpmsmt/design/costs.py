"""What a design costs, measured on its final state: independent of the encoding, so that the
search (`Encoding.evaluate`) and the tests (`measure`) score designs the same way."""

from __future__ import annotations

from collections.abc import Iterable

from dpmsmt.encode import View
from dpmsmt.model import Topology

__all__ = ["longest_new_chain", "measure"]


def longest_new_chain(dpms: Iterable[str], protectors, new: set[tuple[str, str]]) -> int:
    """The servers on the longest chain that uses a new edge: from each DPM server, follow its
    unique secondary upwards until a server has none, several, or one already on the chain."""
    longest = 0
    for start in dpms:
        chain, uses_new = [start], False
        while True:
            ups = protectors[chain[-1]]
            if len(ups) != 1 or ups[0] in chain:
                break
            uses_new = uses_new or (ups[0], chain[-1]) in new
            chain.append(ups[0])
        if uses_new:
            longest = max(longest, len(chain))
    return longest


def measure(state: Topology, edges: Iterable[tuple[str, str]]) -> dict[str, int]:
    """`longest_chain` and `max_load` of a final state, where `edges` are the new (t, y) edges."""
    new = set(edges)
    protectors = state.protectors
    longest = longest_new_chain(state.dpm_servers, protectors, new)
    loads = View(state, state.profile).datasource_load
    targets = {t for t, _ in new}
    return {"longest_chain": longest, "max_load": max((loads[t] for t in targets), default=0)}
