"""SCALE-OUT-AGENTS: only a scaled-out Hyper-V cluster has agents from several DPM servers."""

import z3

from dpmsmt.rules._base import Rule, Scope, by_profile


class ScaleOutAgents(Rule):
    """Only a Hyper-V cluster protected with scaled-out DPM protection has agents from several
    DPM servers.

    Why: an agent belongs to one DPM server (S13); scaled-out Hyper-V protection is the one
    documented case where cluster nodes are protected by different DPM servers (S8, S34).
    """

    id = "SCALE-OUT-AGENTS"
    scope = Scope.SERVER
    statement = "Only a Hyper-V cluster protected with scaled-out DPM protection has agents from several DPM servers."
    formal = "|agents(s)| > 1 → s.cluster ∧ ∀ds on s with a primary: ds.hyperv_scale_out"
    sources = ("S8", "S34")
    urls = (
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-support-issues",
        "https://learn.microsoft.com/en-us/system-center/dpm/dpm-protection-matrix",
    )
    severity = by_profile("error")

    def reads(self, view, s):
        server = view.topology.servers[s]
        return {
            "agents": len(server.agents),
            "cluster": server.cluster,
            "not_scaled_out": sum(
                1 for ds in server.datasources if ds.primary is not None and not ds.hyperv_scale_out
            ),
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.agents > 1, z3.And(f.cluster, f.not_scaled_out == 0))

    def entities(self, view, s):
        return {"server": s, "agents": sorted(view.topology.servers[s].agents, key=str.casefold)}

    def message(self, e):
        return f"{e['server']} has agents from {', '.join(e['agents'])}; only a Hyper-V cluster with scaled-out protection may"

    def where(self, view, s):
        return ("servers", s, "agent")
