"""What every key of the topology file means, written once.

`dpmsmt schema` puts these texts into the JSON Schema (editors show them on hover), and the key
tables of docs/format.md are generated from the same texts (`dpmsmt.render.format_doc`), so the
schema and the documentation cannot say different things. `tests/test_docs.py` fails when a
property of the schema has no text here, when a text names a key the schema does not have, and
when docs/format.md is not the generated one.

To add a key to the format: add the field to its model in `schema.py`; its text below (under the
model's class name, keyed by the key as written in files); a default in words in `DEFAULTS` when
the default depends on other keys, and a type in words in `TYPES` when the value is a name; then
regenerate docs/format.md (`python -m dpmsmt.render.format_doc --write`). A new model needs an
entry in `MODELS` too.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULTS", "MODELS", "PROPERTIES", "TYPES", "describe", "missing", "unknown"]

# Model class name -> (section title in docs/format.md, what one such mapping is).
MODELS: dict[str, tuple[str, str]] = {
    "TopologyDoc": (
        "Top level",
        "One DPM estate at one moment: its DPM and MABS servers, the protected computers with "
        "their data sources, and the findings accepted on purpose.",
    ),
    "DpmServerDoc": (
        "DPM server",
        "A DPM or MABS server, under `dpm_servers`, keyed by its name.",
    ),
    "FailureDoc": (
        "failure",
        "What survived a failed DPM server (`status: failed` only); it decides whether and how "
        "the server can be rebuilt.",
    ),
    "DatabaseDoc": (
        "database",
        "The DPM server's own database (DPMDB): where it runs and how it is backed up.",
    ),
    "InactiveDoc": (
        "inactive entry",
        "A replica that a DPM server still holds but no longer protects (what "
        "`Get-DPMDatasource -Inactive` lists on it).",
    ),
    "ServerDoc": (
        "Protected server",
        "A computer with a DPM protection agent, under `servers`, keyed by its name.",
    ),
    "DataSourceDoc": (
        "Data source",
        "One protected item of a computer (a volume, a database, a virtual machine, ...).",
    ),
    "PolicyDoc": (
        "Policy",
        "How a DPM server protects a data source (`policy`) or a replica of it "
        "(`secondary_policy`). Rules that read a policy apply only where the file gives one.",
    ),
    "WaiverDoc": (
        "Waiver",
        "A finding accepted on purpose: it is still reported, marked waived, and does not "
        "count towards the exit code.",
    ),
    "TapeLibraryDoc": (
        "Tape library",
        "A tape library that DPM servers share, under `tape_libraries`, keyed by its name; "
        "it has no keys of its own (write `{}` or nothing).",
    ),
}

# Model class name -> key -> what the key means.
PROPERTIES: dict[str, dict[str, str]] = {
    "TopologyDoc": {
        "dpmsmt": "The format version. Only `1` exists; it must be the integer 1.",
        "profile": (
            "Which product version's variant of each rule applies: `strict` (the strongest "
            "documented form) or the DPM release `2012`, `2016`, `2019`, `2022`, `2025`. "
            "`--profile` on the command line overrides it."
        ),
        "name": "A name for the estate, free text.",
        "description": "Free text about the estate.",
        "dpm_servers": (
            "The DPM and MABS servers, keyed by name. Required; may be empty (`{}` or null)."
        ),
        "servers": ("The protected computers, keyed by name. A name may not also be a DPM server."),
        "tape_libraries": "Tape libraries that DPM servers share, keyed by name.",
        "waivers": "Findings accepted on purpose, each with a reason.",
    },
    "DpmServerDoc": {
        "kind": (
            "`dpm` for System Center DPM, `mabs` for Microsoft Azure Backup Server (which takes "
            "no part in secondary protection)."
        ),
        "version": (
            "The installed build with its update rollup, `major.minor.build.revision` as a "
            'quoted string, e.g. "10.19.58.0". A shorter form ("10.19") compares only on the '
            "fields it gives."
        ),
        "os": "The operating system with service pack and updates, as one quoted string.",
        "status": (
            "`up`; `failed` (down, may be rebuilt with the same name: see `failure`); or "
            "`removed` (gone for good, never comes back)."
        ),
        "failure": "Only with `status: failed`: what survived the failure.",
        "protects": (
            "The DPM servers this one protects as their secondary (their databases, "
            "configuration and replicas, as each one's `secondary_scope` says)."
        ),
        "protects_own_database": (
            "True when one of its own protection groups holds its local DPM database or its "
            "own system state. Protecting a remote SQL Server that hosts its database does not "
            "count."
        ),
        "database": "Its DPM database: where the SQL Server runs and how the database is backed up.",
        "secondary_scope": (
            "What its secondary protects of it: `database`, `config` (the DPM Config folder), "
            "`scripting` (the Scripting folder), `replicas` (the replicas of its data sources)."
        ),
        "trust": (
            "Its domain trust relative to its secondary: `trusted`, `untrusted` (another "
            "domain without a two-way trust) or `workgroup`."
        ),
        "auth": "How its secondary's agent authenticates to it: `kerberos`, `ntlm` or `certificate`.",
        "knows": (
            "Other DPM servers registered in its database (stale agents, former secondaries). "
            "A move under secondary protection may only go to a DPM server the secondary does "
            "not know."
        ),
        "inactive": (
            "Data sources whose replica and recovery points it still holds but no longer protects."
        ),
        "tape_library": "The tape library (a name under `tape_libraries`) it shares.",
    },
    "FailureDoc": {
        "database": "Whether its DPM database survived: `intact` or `lost`.",
        "storage": (
            "Whether its storage pool (replicas and recovery points) survived: `intact` or `lost`."
        ),
    },
    "DatabaseDoc": {
        "sql": "Where its DPM database runs: `local` (on the DPM server) or `remote` (another SQL Server).",
        "backup": (
            "How the DPM database is backed up: `secondary` (by its secondary DPM server), "
            "`azure`, `own-pool` (to its own storage pool), `tape`, `share` (a share it protects "
            "itself), `sql-native` (SQL Server backups) or `none`."
        ),
        "vss_writer": "The SQL Server VSS Writer service on the database's SQL host: `running` or `stopped`.",
    },
    "InactiveDoc": {
        "datasource": (
            "The data source id, `SERVER/NAME`. It may name a data source the file no longer has."
        ),
        "from": (
            "The primary whose replica it held as a secondary; null when it was the data "
            "source's primary itself."
        ),
    },
    "ServerDoc": {
        "agent": (
            "The DPM server that owns this computer's protection agent. A list only for a "
            "Hyper-V cluster protected with scaled-out protection (one owner per node); null "
            "when no DPM server owns it."
        ),
        "cluster": "True for a failover cluster (Hyper-V, SQL Server, file server) protected as one.",
        "datasources": "Its data sources, each named once.",
    },
    "DataSourceDoc": {
        "name": (
            "Its name, unique on its computer without regard to case; `SERVER/NAME` is the "
            "data source's id in findings and waivers."
        ),
        "type": "The workload: volume, share, folder, SQL database, Hyper-V machine, and so on.",
        "primary": (
            "The DPM server that protects it directly; null means unprotected. When the key is "
            "left out, the computer's `agent`."
        ),
        "secondary": "The DPM server that protects the primary's replica of it; null: none.",
        "mode": (
            "`switched` when protection was switched to the former secondary, which is now its "
            "`primary`; else `normal`."
        ),
        "switched_from": (
            "With `mode: switched` (required there, refused otherwise): the primary it was "
            "switched away from."
        ),
        "dedup": "True for a deduplicated volume.",
        "hyperv_scale_out": "True for a Hyper-V workload protected with scaled-out DPM protection.",
        "protection_group": "The protection group's name; a label for plans and reports.",
        "policy": "The primary's protection policy.",
        "secondary_policy": "The secondary's policy for the replica.",
    },
    "PolicyDoc": {
        "short_term": "Short-term protection medium: `disk` or `tape`.",
        "long_term": "Long-term protection: `none`, `tape`, `online` (Azure) or `online-and-tape`.",
        "sync_minutes": (
            "Synchronization frequency in minutes; DPM accepts 15, 30, 45, 60, 120, 240, 360, "
            "720 and 1440. Null: not given."
        ),
        "sync_before_recovery_point": (
            'True for "synchronize just before a recovery point" instead of a frequency.'
        ),
        "exclude_extensions": "File name extensions excluded from protection.",
    },
    "WaiverDoc": {
        "rule": "The id of the rule whose findings it accepts (see docs/rules.md).",
        "target": (
            "A DPM server, a protected server or a data source id (`SERVER/NAME`) that the "
            "finding must name; a protected server also covers its data sources. Left out: "
            "every finding of the rule."
        ),
        "reason": "Why the finding is accepted. Required.",
        "expires": (
            "An ISO date (YYYY-MM-DD) after which the waiver no longer "
            "applies; the finding then counts again and WAIVER-EXPIRED says so."
        ),
    },
    "TapeLibraryDoc": {},
}

# Model class name -> key -> the default in words, where it is not a constant.
DEFAULTS: dict[str, dict[str, str]] = {
    "TopologyDoc": {"servers": "`{}`", "tape_libraries": "`{}`", "waivers": "`[]`"},
    "DpmServerDoc": {"failure": "all of `failure`'s defaults (with `status: failed`)"},
    "DatabaseDoc": {
        "backup": (
            "`secondary` when some DPM server protects it and its `secondary_scope` includes "
            "`database`, else `none`"
        )
    },
    "DataSourceDoc": {"primary": "the computer's `agent` (required when `agent` is a list)"},
}

# Model class name -> key -> the type in words for docs/format.md, where the schema's type
# ("string") would hide that the value is a name to be defined elsewhere in the file.
TYPES: dict[str, dict[str, str]] = {
    "DpmServerDoc": {
        "protects": "list of DPM server names",
        "knows": "list of DPM server names",
        "tape_library": "tape library name or null",
    },
    "InactiveDoc": {"datasource": "data source id", "from": "DPM server name or null"},
    "ServerDoc": {"agent": "DPM server name, list of DPM server names, or null"},
    "DataSourceDoc": {
        "primary": "DPM server name or null",
        "secondary": "DPM server name or null",
        "switched_from": "DPM server name or null",
    },
    "WaiverDoc": {
        "rule": "rule id",
        "target": "name or data source id, or null",
        "expires": "date (YYYY-MM-DD) or null",
    },
}

_LEFT_OUT = ("expect",)  # top-level keys of dpmsmt's own example files, not for users


def describe(schema: dict[str, Any]) -> dict[str, Any]:
    """The JSON Schema of the format with a description on every model and property, and
    without the keys users do not write (`expect`)."""
    for key in _LEFT_OUT:
        schema.get("properties", {}).pop(key, None)
    for name, model in [("TopologyDoc", schema), *schema.get("$defs", {}).items()]:
        if name in MODELS:
            model["description"] = MODELS[name][1]
        texts = PROPERTIES.get(name, {})
        for key, prop in model.get("properties", {}).items():
            if key in texts:
                prop["description"] = texts[key]
    return schema


def _models(schema: dict[str, Any]) -> list[tuple[str, dict]]:
    return [("TopologyDoc", schema), *schema.get("$defs", {}).items()]


def missing(schema: dict[str, Any]) -> list[str]:
    """`Model.key` of every model or property of the schema that has no description."""
    out = []
    for name, model in _models(schema):
        if not (model.get("description") or "").strip():
            out.append(name)
        for key, prop in model.get("properties", {}).items():
            if not (prop.get("description") or "").strip():
                out.append(f"{name}.{key}")
    return out


def unknown(schema: dict[str, Any]) -> list[str]:
    """`Model.key` of every text here that describes nothing in the schema (a stale text)."""
    present = {name: set(model.get("properties", {})) for name, model in _models(schema)}
    out = [name for name in MODELS if name not in present]
    for table in (PROPERTIES, DEFAULTS, TYPES):
        for name, texts in table.items():
            out += [f"{name}.{k}" for k in texts if k not in present.get(name, set())]
    return sorted(set(out))
