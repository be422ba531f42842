"""DB-BACKUP-WITH-SECONDARY: a local DPM database with a secondary is backed up to it."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.rules._base import Rule, Scope, by_profile
from dpmsmt.rules._common import dpm_path

_FORBIDDEN = ("azure", "own-pool", "tape", "share")


class DbBackupWithSecondary(Rule):
    """A DPM server with a local database and a secondary cannot back the database up to Azure,
    its own storage pool, tape or a share it protects.

    Why: those methods are "Not an option if the database is hosted locally and you want to
    enable secondary protection" (S5, S7, S11); use the secondary or a remote SQL Server.
    """

    id = "DB-BACKUP-WITH-SECONDARY"
    scope = Scope.DPM
    statement = "A DPM server with a local DPM database and a secondary cannot back the database up to Azure, its own storage pool, tape or a share it protects; use the secondary or a remote SQL Server."
    formal = (
        "(∃x P(x,d)) ∧ d.database.sql = local → d.database.backup ∉ {azure, own-pool, tape, share}"
    )
    sources = ("S5", "S7", "S11")
    urls = (
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
        "https://learn.microsoft.com/en-us/azure/backup/backup-the-mabs-server",
    )
    severity = by_profile("error")

    def reads(self, view, d):
        return {
            "protectors": len(view.protectors(d)),
            "sql": code("sql", view.dpm(d).database.sql),
            "backup": code("backup", view.topology.db_backup(d)),
        }

    def holds(self, f) -> z3.BoolRef:
        forbidden = z3.Or([f.backup == code("backup", m) for m in _FORBIDDEN])
        return z3.Implies(
            z3.And(f.protectors > 0, f.sql == code("sql", "local")), z3.Not(forbidden)
        )

    def entities(self, view, d):
        return {"dpm": d, "method": view.topology.db_backup(d)}

    def message(self, e):
        return f"{e['dpm']} has a local DPM database and a secondary, so it cannot back the database up to {e['method']}; use the secondary or a remote SQL Server"

    def where(self, view, d):
        return dpm_path(d, "database", "backup")
