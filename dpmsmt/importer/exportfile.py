"""One export file (import.md, "The export file"): read, check its shape, keep its positions.

`PROPERTIES` is the one list of what an export holds, section by section: the reader checks
types against it, `export_schema` turns it into the JSON Schema that `dpmsmt schema --export`
prints, and a test checks that scripts/Export-DpmTopology.ps1 reads exactly these names, so
the two ends of the bridge cannot drift apart. Unknown keys are allowed: a newer script may
record more than this dpmsmt reads.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass
from typing import Any

from dpmsmt.findings import LoadError, TopologyError
from dpmsmt.io.json_reader import JsonLocator, read_json
from dpmsmt.io.limits import ReadFailure
from dpmsmt.model import format_path

__all__ = ["EXPORT_VERSION", "PROPERTIES", "SECTIONS", "Export", "read_export"]

EXPORT_VERSION = 1

# JSON types of a property: "string", "boolean", "integer", "strings" (a list of strings); every
# property may also be null (the script writes null where the object had no value).
PROPERTIES: dict[str, dict[str, str]] = {
    "DpmServer": {
        "Name": "string",
        "ComputerName": "string",
        "ProductName": "string",
        "Version": "string",
        "SqlWriterStatus": "string",
        # Win32_ComputerSystem: its domain (a workgroup's name when PartOfDomain is false)
        "Domain": "string",
        "PartOfDomain": "boolean",
        # the AD computer object's objectGUID (ADSI): a stable identity across renames
        "Identity": "string",
    },
    "DpmServer.OS": {"Caption": "string", "Version": "string"},
    "DpmServer.DB": {"SqlServer": "string", "InstanceName": "string", "DatabaseName": "string"},
    "ProductionServers": {
        "ServerName": "string",
        "Name": "string",
        "Domain": "string",
        "ClusterName": "string",
        "PossibleOwners": "strings",
        "ServerProtectionState": "string",
    },
    "ProtectionGroups": {
        "Name": "string",
        "IsDiskShortTerm": "boolean",
        "IsTapeShortTerm": "boolean",
        "IsTapeLongTerm": "boolean",
        "IsCloudLongTerm": "boolean",
        "SynchronizationFrequencyMinutes": "integer",
        "ExcludedFileTypes": "strings",
    },
    "Datasources": {
        "DatasourceId": "string",
        "Name": "string",
        "LogicalPath": "string",
        "Computer": "string",
        "ProductionServerName": "string",
        "ObjectType": "string",
        "ProtectionGroupName": "string",
        "Protected": "boolean",
        "ProtectionType": "string",
        "SourceDPMServer": "string",
        "InactiveProtectionStatus": "string",
    },
    "Libraries": {"UserFriendlyName": "string", "ProductId": "string", "SerialNumber": "string"},
}
# The list sections; `InactiveDatasources` holds the same objects as `Datasources`.
SECTIONS = {
    "ProductionServers": "ProductionServers",
    "ProtectionGroups": "ProtectionGroups",
    "Datasources": "Datasources",
    "InactiveDatasources": "Datasources",
    "Libraries": "Libraries",
}
_SAY = {
    "string": "a string",
    "boolean": "true or false",
    "integer": "an integer",
    "strings": "a list of strings",
}


@dataclass(frozen=True)
class Export:
    """A checked export: its data (plain JSON) and where each path is in the file."""

    file: str
    data: dict[str, Any]
    locate: Any

    @property
    def server(self) -> dict[str, Any]:
        return self.data["DpmServer"]

    @property
    def computer(self) -> str:
        """The DPM server's name as the topology writes it (`ComputerName`, else the first label
        of `Name`)."""
        s = self.server
        return s.get("ComputerName") or s["Name"].split(".", 1)[0]

    @property
    def exported_at(self) -> _dt.datetime | None:
        return parse_time(self.data.get("exportedAt"))

    def section(self, name: str) -> list[dict[str, Any]]:
        return self.data.get(name) or []

    def error(self, path: tuple, message: str) -> LoadError:
        pos = self.locate(path) or (1, 1)
        return LoadError(self.file, pos[0], pos[1], format_path(path), message)


def parse_time(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=_dt.UTC)


def read_export(path: str | os.PathLike) -> Export:
    """Read one export file; a malformed one raises `TopologyError` with file, line, column
    and path (exit 2 on the command line)."""
    name = str(path)
    text = _read_text(name)
    try:
        # The C parser alone (no duplicate-key hook: ConvertTo-Json writes none); positions come
        # from the JSON reader's lazy locator, and bad JSON goes through the reader's messages.
        data, locate = json.loads(text), JsonLocator(text)
    except (ValueError, RecursionError):
        try:
            data, locate = read_json(text)
        except ReadFailure as f:
            raise f.error(name) from None
    export = Export(name, data, locate)
    problem = _shape_problem(data)
    if problem is not None:
        raise TopologyError([export.error(*problem)])
    return export


def _read_text(name: str) -> str:
    def fail(message: str, line: int = 1, col: int = 1) -> TopologyError:
        return TopologyError([LoadError(name, line, col, "<root>", message)])

    from dpmsmt.io.source import Unreadable, read_bytes

    try:  # regular files only (a FIFO would block), at most 64 MiB
        raw = read_bytes(name, "export")
    except Unreadable as e:
        raise TopologyError([LoadError(name, 0, 0, "<root>", str(e))]) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise fail(
            "the export is UTF-16; write it as UTF-8 (Export-DpmTopology.ps1 does; "
            "`Out-File` in Windows PowerShell 5.1 does not)"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise fail("the export is not valid UTF-8", line, col) from None
    if not text.strip():
        raise fail("the export is empty (was the script stopped before it finished?)")
    return text


def _shape_problem(data: Any) -> tuple[tuple, str] | None:
    """The first thing in `data` that is not an export of version 1, as (path, message)."""
    if not isinstance(data, dict):
        return (), "an export is a JSON object with `dpmsmtExport: 1` (from Export-DpmTopology.ps1)"
    version = data.get("dpmsmtExport")
    if "dpmsmtExport" not in data:
        return (), "not a dpmsmt export: the key `dpmsmtExport` is missing"
    if version != EXPORT_VERSION or isinstance(version, bool):
        return ("dpmsmtExport",), (
            f"export format {json_text(version)} is not supported (this dpmsmt reads format "
            f"{EXPORT_VERSION}; use the Export-DpmTopology.ps1 shipped with it)"
        )
    server = data.get("DpmServer")
    if not isinstance(server, dict):
        where = ("DpmServer",) if "DpmServer" in data else ()
        return where, "the export has no `DpmServer` object (which DPM server wrote it?)"
    if not any(
        isinstance(server.get(k), str) and server[k].strip() for k in ("ComputerName", "Name")
    ):
        return ("DpmServer",), "`DpmServer` names no server (`ComputerName` and `Name` are missing)"
    if not isinstance(server.get("Version"), str):
        return ("DpmServer", "Version"), "`DpmServer.Version` is missing (the DPM build)"
    for key in ("Errors", "MissingProperties"):
        if data.get(key) is not None and not isinstance(data[key], list):
            return (key,), f"`{key}` is a list"
    for section, shape in (
        ("DpmServer", "DpmServer"),
        ("DpmServer.OS", None),
        ("DpmServer.DB", None),
    ):
        path = tuple(section.split("."))
        obj = _at(data, path)
        if obj is None:
            continue
        if not isinstance(obj, dict):
            return path, f"`{section}` is an object"
        problem = _record_problem(obj, _TYPE_OF[shape or section], path)
        if problem:
            return problem
    for section, shape in SECTIONS.items():
        items = data.get(section)
        if items is None:
            continue
        if not isinstance(items, list):
            return (section,), f"`{section}` is a list"
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                return (section, i), f"each entry of `{section}` is an object"
            problem = _record_problem(item, _TYPE_OF[shape], (section, i))
            if problem:
                return problem
    return None


# The Python type of each property's JSON value (bool is not int here: `type(True) is bool`).
_PYTHON = {"string": str, "boolean": bool, "integer": int, "strings": list}
_TYPE_OF = {
    section: {key: _PYTHON[kind] for key, kind in props.items()}
    for section, props in PROPERTIES.items()
}
_KIND_OF = {id(_TYPE_OF[s]): PROPERTIES[s] for s in PROPERTIES}


def _record_problem(obj: dict, types: dict[str, type], path: tuple) -> tuple[tuple, str] | None:
    """The first property of `obj` of the wrong type (200k data sources: one dict lookup and
    one type test per value)."""
    for key, value in obj.items():
        want = types.get(key)
        if want is None or value is None:
            continue
        if type(value) is not want or (want is list and not all(type(x) is str for x in value)):
            kind = _KIND_OF[id(types)][key]
            return (*path, key), f"`{key}` is {_SAY[kind]}, not {json_text(value)}"
    return None


def _at(data: dict, path: tuple) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def json_text(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."
