"""The JSON Schema of an export file (`dpmsmt schema --export`), made from `PROPERTIES`.

The schema states what the importer checks: the version, a `DpmServer` that names its server
and build, and the type of every property it reads (each may be null: the script writes null
where a cmdlet object had no value). Other keys are allowed, as the reader allows them.
"""

from __future__ import annotations

from typing import Any

from dpmsmt.importer.exportfile import EXPORT_VERSION, PROPERTIES, SECTIONS

__all__ = ["export_schema"]

_TYPES = {
    "string": {"type": ["string", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "integer": {"type": ["integer", "null"]},
    "strings": {"type": ["array", "null"], "items": {"type": "string"}},
}


def _record(section: str, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    props = {name: dict(_TYPES[kind]) for name, kind in PROPERTIES[section].items()}
    props.update(extra or {})
    return {"type": "object", "properties": props}


def export_schema() -> dict[str, Any]:
    server = _record(
        "DpmServer",
        {
            "OS": {**_record("DpmServer.OS"), "type": ["object", "null"]},
            "DB": {**_record("DpmServer.DB"), "type": ["object", "null"]},
        },
    )
    server["properties"]["Version"] = {"type": "string"}
    server["anyOf"] = [
        {
            "required": ["ComputerName"],
            "properties": {"ComputerName": {"type": "string", "minLength": 1}},
        },
        {"required": ["Name"], "properties": {"Name": {"type": "string", "minLength": 1}}},
    ]
    server["required"] = ["Version"]
    properties: dict[str, Any] = {
        "dpmsmtExport": {"const": EXPORT_VERSION, "description": "the export format's version"},
        "exportedAt": {"type": ["string", "null"], "description": "ISO 8601 time of the export"},
        "collector": {"type": ["string", "null"]},
        "DpmServer": server,
        "MissingProperties": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "description": "SECTION.PROPERTY names the script could not read",
        },
        "Errors": {
            "type": ["array", "null"],
            "items": {
                "type": "object",
                "properties": {
                    "Section": {"type": "string"},
                    "Message": {"type": ["string", "null"]},
                },
            },
        },
    }
    for section, shape in SECTIONS.items():
        properties[section] = {"type": ["array", "null"], "items": _record(shape)}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dpmsmt.invalid/schema/export-1.json",
        "title": "dpmsmt export (Export-DpmTopology.ps1), format 1",
        "type": "object",
        "required": ["dpmsmtExport", "DpmServer"],
        "properties": properties,
    }
