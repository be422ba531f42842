"""SQL-VSS-WRITER: the SQL Server VSS Writer runs where a secondary protects the database."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import dpm_path


class SqlVssWriter(Rule):
    """The SQL Server VSS Writer must run on a primary whose database a secondary protects.

    Why: "you need to start the SQL Server VSS Writer service on the primary server" (S3, S7);
    without it the secondary's backups of the DPM database fail.
    """

    id = "SQL-VSS-WRITER"
    scope = Scope.DPM
    statement = (
        "The SQL Server VSS Writer must run on a primary whose database a secondary protects."
    )
    formal = "(∃x P(x,d)) ∧ database ∈ d.secondary_scope → d.database.vss_writer = running"
    sources = ("S3", "S7")
    urls = (
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("error")

    def reads(self, view, d):
        dpm = view.dpm(d)
        return {
            "protectors": len(view.protectors(d)),
            "scope_database": "database" in dpm.secondary_scope,
            "vss_writer": code("vss", dpm.database.vss_writer),
        }

    def holds(self, f) -> z3.BoolRef:
        return z3.Implies(
            z3.And(f.protectors > 0, f.scope_database), f.vss_writer == code("vss", "running")
        )

    def entities(self, view, d):
        return {"dpm": d}

    def message(self, e):
        return f"the SQL Server VSS Writer is stopped on {e['dpm']}, whose database its secondary protects"

    def where(self, view, d):
        return dpm_path(d, "database", "vss_writer")
