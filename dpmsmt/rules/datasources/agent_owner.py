"""AGENT-OWNER: a data source's primary owns the protection agent of its computer."""

import z3

from dpmsmt.rules._base import NULL, by_profile
from dpmsmt.rules._common import DatasourceRule


class AgentOwner(DatasourceRule):
    """A protection agent belongs to one DPM server: every data source a DPM server protects
    directly is on a computer whose agent it owns.

    Why: "A protection agent is controlled exclusively by the DPM server from which it is
    installed" (S13); DPM errors 270/302 when another DPM server owns it (S15).
    """

    id = "AGENT-OWNER"
    statement = "A protection agent belongs to one DPM server: every data source a DPM server protects directly is on a computer whose agent it owns."
    formal = "ds.primary ≠ null → ds.primary ∈ agents(ds.server)"
    sources = ("S13", "S15")
    urls = (
        "https://docs.microsoft.com/en-us/previous-versions/system-center/system-center-2012-R2/dn903639(v=sc.12)",
        "https://github.com/MicrosoftDocs/SupportArticles-docs/blob/main/support/system-center/dpm/vnext-dpm-error-codes.md",
    )
    severity = by_profile("error")
    where_key = "primary"

    def reads(self, view, f):
        return {"primary": view.idx(f.primary), "agents": tuple(view.idx(a) for a in f.agents)}

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(f.primary != NULL, z3.Or([f.primary == a for a in f.agents]))

    def entities(self, view, ds):
        agents = view.topology.servers[ds.server].agents
        return {
            "datasource": ds.id,
            "primary": ds.primary,
            "agents": sorted(agents, key=str.casefold),
        }

    def message(self, e):
        owners = ", ".join(e["agents"]) or "no DPM server"
        return f"{e['datasource']} is protected by {e['primary']}, but its computer's agent belongs to {owners}"
