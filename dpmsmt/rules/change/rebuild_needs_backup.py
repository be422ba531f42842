"""REBUILD-NEEDS-BACKUP: a failed DPM server comes back only from a surviving database."""

import z3

from dpmsmt.encode.facts import code
from dpmsmt.model import Failure
from dpmsmt.rules._base import by_profile
from dpmsmt.rules.change._base import DpmChange


class RebuildNeedsBackup(DpmChange):
    """A failed DPM server can only come back if its database survived or a backup of it did.

    Why: rebuilding restores the DPM database (`DpmSync -RestoreDb`, S4, S5, S7); without an intact
    database or a surviving backup (`secondary`: that secondary is up; `own-pool`: the storage
    survived) there is nothing to restore.
    """

    id = "REBUILD-NEEDS-BACKUP"
    statement = "A failed DPM server can only come back if its database survived or a backup of it did: `failure.database = intact`, or `database.backup` is not `none` and its copy survives (`secondary`: that secondary is up; `own-pool`: `failure.storage = intact`)."
    formal = "b.status = failed ∧ a.status = up → b.failure.database = intact ∨ (m = b.database.backup ≠ none ∧ (m = secondary → up_b(protector_b(d))) ∧ (m = own-pool → b.failure.storage = intact))"
    sources = ("S4", "S5", "S7")
    urls = (
        "https://github.com/MicrosoftDocs/SystemCenterDocs",
        "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server",
    )
    severity = by_profile("error")

    def reads(self, change, pair):
        b = change.before.dpm(pair[0])
        a = change.after.dpm(pair[1])
        failure = b.failure or Failure()  # format.md's defaults: database lost, storage intact
        protectors = change.before.protectors(pair[0])
        return {
            "was_failed": b.status == "failed",
            "is_up": a.status == "up",
            "database_intact": failure.database == "intact",
            "storage_intact": failure.storage == "intact",
            "backup": code("backup", change.before.topology.db_backup(pair[0])),
            "protector_up": any(change.before.dpm(x).up for x in protectors),
        }

    def holds(self, f) -> z3.BoolRef:
        m = f.backup
        backup_survives = z3.And(
            m != code("backup", "none"),
            z3.Implies(m == code("backup", "secondary"), f.protector_up),
            z3.Implies(m == code("backup", "own-pool"), f.storage_intact),
        )
        return z3.Implies(z3.And(f.was_failed, f.is_up), z3.Or(f.database_intact, backup_survives))

    def entities(self, change, pair):
        b = change.before.dpm(pair[0])
        return {
            "dpm": pair[1],
            "database": (b.failure or Failure()).database,
            "backup": change.before.topology.db_backup(pair[0]),
        }

    def message(self, e):
        return f"{e['dpm']} came back up, but its database was {e['database']} and its backup ({e['backup']}) did not survive"
