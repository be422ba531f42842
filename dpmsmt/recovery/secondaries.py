"""New secondaries: the DPM servers whose secondary is down, their legal new secondaries, the
data sources they leave without one (`orphans`), and the loads before any option."""

from __future__ import annotations

from dpmsmt.encode import View
from dpmsmt.model import Topology, canon
from dpmsmt.optimize.legality import Legality, SecondaryLegality
from dpmsmt.recovery.options import MOVE_CANDIDATES

__all__ = ["Secondaries"]


class Secondaries:
    """The new-secondary side of a failure (`reassign`: y -> its candidate new secondaries)."""

    def __init__(
        self,
        state: Topology,
        down: set[str],
        legal: Legality,
        profile: str,
        pre: set[str],
        groups: list,
        reassign: dict[str, list[str]],
    ):
        self.state = state
        self.down = down
        self.legal = legal
        self.profile = profile
        self.groups = groups
        self.reassign = reassign
        self.edges = SecondaryLegality(legal, state, profile, pre)
        self._secondary_counts: dict[str, int] | None = None
        self._orphan_counts: list | None = None
        self.base_loads = self._base_loads()

    def _secondary_count(self, y: str) -> int:
        """Data sources of y whose secondary is down (they need y's new secondary)."""
        if self._secondary_counts is None:
            counts: dict[str, int] = {}
            for facts, group in self.legal.before_view.datasource_groups.items():
                if facts.secondary is not None and facts.secondary in self.down:
                    counts[facts.primary] = counts.get(facts.primary, 0) + len(group)
            self._secondary_counts = counts
        return self._secondary_counts.get(y, 0)

    def reassign_candidates(self, y: str) -> list[tuple[str, list[str]]]:
        """Legal new secondaries for y with their rule Booleans: in batches, those of y's build
        and whose load stays within the base loads first, each batch in name order, until
        MOVE_CANDIDATES are legal, or until a batch has none once some are (grounding all 300
        candidates of a large estate costs seconds; any legal one restores the same secondary
        protection, and the choice among them only weighs on max_load)."""
        loads, nsec = self.base_loads, self.reassigned_count(y)
        floor = max(loads.values(), default=0)
        dpms = self.state.dpm_servers
        build = dpms[y].version_fields

        def differs(t: str, fields: int | None) -> bool:
            """A different major.minor (fields=2) or build (None), on the fields both give."""
            theirs = dpms[t].version_fields[:fields]
            return any(a != b for a, b in zip(build[:fields], theirs, strict=False))

        # another major.minor last (VERSION-MATCH refuses it), another build before it
        # (VERSION-MATCH refuses it under strict, 2012 and 2016, BUILD-MATCH warns under 2019+);
        # the rules still decide
        order = sorted(
            self.reassign[y],
            key=lambda t: (
                differs(t, 2),
                differs(t, None),
                loads.get(t, 0) + nsec > floor,
                canon(t),
            ),
        )
        out: list[tuple[str, list[str]]] = []
        for start in range(0, len(order), MOVE_CANDIDATES):
            batch = [(t, self.edges.terms(y, t)) for t in order[start : start + MOVE_CANDIDATES]]
            truth = self.legal.truth()
            legal = [(t, names) for t, names in batch if all(truth[n] for n in names)]
            if out and not legal:
                break  # the candidates left are of other builds the rules refuse, most likely
            out += legal
            if len(out) >= MOVE_CANDIDATES:
                break
        return sorted(out, key=lambda tn: canon(tn[0]))

    def orphans(self) -> list[tuple[tuple[str | None, str, bool], int]]:
        """Data sources whose primary is up (or none) and whose secondary is down, counted by
        (primary, secondary, whether a rule forbids them a new secondary: `reassigned_secondary`)."""
        if self._orphan_counts is not None:
            return self._orphan_counts
        counts: dict[tuple[str | None, str, bool], int] = {}
        for facts, group in self.legal.before_view.datasource_groups.items():
            if facts.secondary in self.down and facts.primary not in self.down:
                forbidden = facts.dedup or facts.hyperv_scale_out or facts.server_switched
                key = (facts.primary, facts.secondary, forbidden)
                counts[key] = counts.get(key, 0) + len(group)
        self._orphan_counts = sorted(
            counts.items(), key=lambda kv: (canon(kv[0][0] or ""), canon(kv[0][1]), kv[0][2])
        )
        return self._orphan_counts

    def reassigned_count(self, y: str) -> int:
        """Data sources of y that a new secondary t protects (the action replaces y's first
        protector; `reassigned_secondary` leaves out those a rule forbids a secondary)."""
        old = self.state.protectors.get(y, ())[:1]
        return sum(
            n for (p, z, forbidden), n in self.orphans() if p == y and (z,) == old and not forbidden
        )

    def _base_loads(self) -> dict[str, int]:
        """Data sources each DPM server holds in the failure state, without the affected ones."""
        view = View(self.state, self.profile)
        loads = dict(view.datasource_load)
        for g in self.groups:
            for name in g.servers:
                for ds in self.state.servers[name].datasources:
                    if ds.primary == g.p:
                        loads[ds.primary] -= 1
                        if ds.secondary is not None and ds.secondary != ds.primary:
                            loads[ds.secondary] -= 1
        for y in self.reassign:
            for x in self.state.protectors[y]:
                loads[x] -= self._secondary_count(y) if x in self.down else 0
        return loads
