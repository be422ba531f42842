"""`dpmsmt import`'s summary: a JSON document (stdout), or one line (stderr) in text format."""

from __future__ import annotations

import json

from dpmsmt.render.json import SCHEMA


def import_summary(topology, report, output: str | None) -> dict:
    """What the import made (counts) and what it found on the way (the import report)."""
    return {
        "schema": SCHEMA,
        "command": "import",
        "output": output,
        "dpm_servers": len(topology.dpm_servers),
        "servers": len(topology.servers),
        "datasources": sum(len(s.datasources) for s in topology.servers.values()),
        **report.to_json(),
    }


def render_json(summary: dict) -> str:
    """ASCII-escaped, unlike the other JSON outputs: as the import has always written it."""
    return json.dumps(summary, indent=2, sort_keys=True) + "\n"


def render_text(summary: dict) -> str:
    output = summary["output"]
    return (
        f"dpmsmt: imported {len(summary['exports'])} export(s): {summary['dpm_servers']} DPM "
        f"servers, {summary['servers']} protected servers, {summary['datasources']} data sources, "
        f"{len(summary['guessed'])} guessed value(s), {len(summary['disagreements'])} "
        f"disagreement(s){f' -> {output}' if output else ''}\n"
    )
