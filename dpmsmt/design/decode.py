"""From chosen candidates to a `Design`: NEW-DPM names, actions with their steps, the estate
after it, and its proof by `check` (nothing that blocks a design is new) before it is shown."""

from __future__ import annotations

from dataclasses import replace

from dpmsmt.actions import Action, apply_actions
from dpmsmt.check import check
from dpmsmt.design.candidates import Candidate
from dpmsmt.design.encoding import Encoding
from dpmsmt.design.explain import Explainer
from dpmsmt.design.problem import CYCLE
from dpmsmt.design.result import Design
from dpmsmt.findings import Severity
from dpmsmt.model import DpmServer, Topology, canon
from dpmsmt.plan import new_server_name
from dpmsmt.steps import protect_action

__all__ = ["Decoder"]


class Decoder:
    """Designs from choices; explanations of servers left without a secondary."""

    def __init__(self, enc: Encoding):
        self.c = enc.c
        self.q = enc.q
        self.explainer = Explainer(enc)

    def design(self, chosen: list[Candidate], best: dict[str, int]) -> Design | None:
        """The design of `chosen` (servers in name order), or None where `check` refuses it."""
        names = self._names(chosen)
        new_servers = tuple((names[slot], v) for slot, v in self.c.slots if slot in names)
        new_servers = tuple(sorted(new_servers, key=lambda nv: canon(nv[0])))
        actions = []
        seen: set[str] = set()
        for c in chosen:
            t = names.get(c.t, c.t)
            version = self.c.cand_base.dpm_servers[c.t].version if c.slot is not None else None
            scope = self.q.base.dpm_servers[c.y].secondary_scope
            actions.append(protect_action(c.y, t, c.replicas, version, scope, first=t not in seen))
            seen.add(t)
        state = self._state(chosen, names)
        covered = {c.y for c in chosen}
        unassigned = tuple(y for y in self.q.needs if y not in covered)
        if not self._verify(state):
            return None
        blocked = {y: self.explainer.explain(y, covered) for y in unassigned}
        return Design(
            rank=0,
            complete=not unassigned,
            cost=dict(best),
            actions=tuple(actions),
            new_servers=new_servers,
            unassigned=unassigned,
            blocked_by=blocked,
            final_state=state,
        )

    def _names(self, chosen: list[Candidate]) -> dict[str, str]:
        """Slot -> NEW-DPM-k, in order of first use (servers in name order)."""
        taken = [*self.q.base.dpm_servers, *self.q.base.servers]
        names: dict[str, str] = {}
        for c in chosen:
            if c.slot is not None and c.t not in names:
                names[c.t] = new_server_name([*taken, *names.values()])
        return names

    def _state(self, chosen: list[Candidate], names: dict[str, str]) -> Topology:
        """The estate after the design: new servers, new `protects` edges, replicas on t."""
        dpms = dict(self.q.base.dpm_servers)
        for slot, version in self.c.slots:
            if slot in names:
                dpms[names[slot]] = DpmServer(name=names[slot], version=version)
        edges = [
            Action("reassign-secondary", dpm=c.y, from_=None, to=names.get(c.t, c.t))
            for c in chosen
        ]
        state = apply_actions(replace(self.q.base, dpm_servers=dpms), edges)
        secondary = {canon(i): names.get(c.t, c.t) for c in chosen for i in c.replicas}
        servers = dict(state.servers)
        for name, server in servers.items():
            if any(canon(ds.id) in secondary for ds in server.datasources):
                servers[name] = replace(
                    server,
                    datasources=tuple(
                        replace(ds, secondary=secondary[canon(ds.id)])
                        if canon(ds.id) in secondary
                        else ds
                        for ds in server.datasources
                    ),
                )
        return replace(state, servers=servers)

    def _verify(self, state: Topology) -> bool:
        """Prove the design legal with `check`: nothing that blocks a design is new."""
        report = check(state, profile=self.q.profile, timeout=self.q.remaining())
        for f in report.findings:
            if f.waived or f.fingerprint in self.q.pre:
                continue
            if self.q.allow_cycles and f.rule == CYCLE:
                continue  # allowed
            if f.severity is Severity.ERROR or f.rule in self.q.hard:
                return False
        return True
