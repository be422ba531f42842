"""`Topology` -> topology file text (format.md, version 1) that the reader reads back unchanged.

`dump` writes YAML 1.2 in block style, one data source per line as a flow mapping where it fits;
`dump_json` writes the same document as JSON. Both are deterministic: keys in the order of
format.md's tables, DPM servers, servers and lists in model order.

Why the care: the reader resolves plain scalars by the YAML 1.2 core schema and refuses numbers
where strings belong (`version: 10.19`). Every string that could read as anything but itself
(`1.0`, `null`, `true`, `yes` for YAML 1.1 tools, `D:\\`, `a: b`, leading digits, spaces at the
ends) is quoted; plain style is kept for the common names (`DPM1`, `Server1`, `volume`), so the
file stays readable. Defaults that the reader resolves from other fields are written out where
the model holds them resolved: a data source's `primary` is always written (its default is the
server's agent), `database.backup` only where the model holds an explicit value (its default
depends on the whole snapshot, see `Topology.db_backup`). What the reader would refuse is not
written: `failure` of a server that is not failed, `switched_from` of a data source that is not
switched (a failed server with no `failure` gets the defaults written out).
"""

from __future__ import annotations

import json
import re
from typing import Any

from dpmsmt.model import (
    SCOPE_ITEMS,
    Database,
    DataSource,
    DpmServer,
    Failure,
    Policy,
    ProtectedServer,
    Topology,
    Waiver,
)

__all__ = ["document", "dump", "dump_json"]

# A plain scalar that every YAML 1.1/1.2 reader takes as this very string: a letter first, then
# letters, digits and `_ . - /`, single inner spaces; no indicator, no `: `, no ` #`.
_SAFE_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9_./-]*(?: [A-Za-z0-9_./-]+)*\Z")
# Words some YAML reader resolves to a bool or null (1.2 core, and 1.1's yes/no/on/off/y/n).
_RESERVED = frozenset(("true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"))
# Characters a YAML scalar cannot hold literally (non-printable, or line breaks in YAML 1.1).
_NEEDS_ESCAPE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]"
)
_ESCAPES = {
    "\0": "\\0",
    "\a": "\\a",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\v": "\\v",
    "\f": "\\f",
    "\r": "\\r",
    "\x1b": "\\e",
    '"': '\\"',
    "\\": "\\\\",
    "\x85": "\\N",
    "\xa0": "\\_",
    "\u2028": "\\L",
    "\u2029": "\\P",
}
_MAX_IMPLICIT_KEY = 1000  # YAML limits an implicit key to 1024 characters
_FLOW_WIDTH = 100  # a data source longer than this as a flow mapping is written in block style


class Flow:
    """A mapping or list that the YAML writer puts on one line (`{a: 1}`, `[A, B]`)."""

    __slots__ = ("value",)

    def __init__(self, value: dict | list):
        self.value = value


# -- the document ------------------------------------------------------------------------------


def document(topology: Topology, *, flow: bool = True) -> dict[str, Any]:
    """The topology as the plain data of a version-1 file (`Flow` marks one-line parts)."""
    doc: dict[str, Any] = {"dpmsmt": 1, "profile": topology.profile}
    if topology.name is not None:
        doc["name"] = topology.name
    if topology.description is not None:
        doc["description"] = topology.description
    doc["dpm_servers"] = {n: _dpm(d) for n, d in topology.dpm_servers.items()}
    if topology.servers:
        doc["servers"] = {n: _server(s) for n, s in topology.servers.items()}
    if topology.tape_libraries:
        doc["tape_libraries"] = {lib: {} for lib in topology.tape_libraries}
    if topology.waivers:
        doc["waivers"] = [_waiver(w) for w in topology.waivers]
    if topology.expect is not None:
        doc["expect"] = topology.expect
    return doc if flow else plain_data(doc)


def _dpm(d: DpmServer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if d.kind != "dpm":
        out["kind"] = d.kind
    out["version"] = d.version
    if d.os is not None:
        out["os"] = d.os
    if d.status != "up":
        out["status"] = d.status
    if d.status == "failed":  # `failure` belongs to failed servers only (the reader says so)
        failure = d.failure or Failure()
        out["failure"] = Flow({"database": failure.database, "storage": failure.storage})
    if d.protects:
        out["protects"] = Flow(list(d.protects))
    if d.protects_own_database:
        out["protects_own_database"] = True
    database = _changed(d.database, Database())  # `backup` only where the model holds one
    if database:
        out["database"] = Flow(database)
    if d.secondary_scope != SCOPE_ITEMS:
        out["secondary_scope"] = Flow(list(d.secondary_scope))
    if d.trust != "trusted":
        out["trust"] = d.trust
    if d.auth != "kerberos":
        out["auth"] = d.auth
    if d.knows:
        out["knows"] = Flow(list(d.knows))
    if d.inactive:
        out["inactive"] = [
            Flow({"datasource": e.datasource, **({"from": e.from_} if e.from_ else {})})
            for e in d.inactive
        ]
    if d.tape_library is not None:
        out["tape_library"] = d.tape_library
    if d.location != "on-premises":
        out["location"] = d.location
    for key in ("services_account", "identity", "domain"):
        if getattr(d, key) is not None:
            out[key] = getattr(d, key)
    return out


def _server(s: ProtectedServer) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if len(s.agents) == 1:
        out["agent"] = s.agents[0]
    elif s.agents:
        out["agent"] = Flow(list(s.agents))
    if s.cluster:
        out["cluster"] = True
    if s.location != "on-premises":
        out["location"] = s.location
    if s.datasources:
        out["datasources"] = [_datasource(ds) for ds in s.datasources]
    return out


def _datasource(ds: DataSource) -> Flow | dict[str, Any]:
    out: dict[str, Any] = {"name": ds.name, "type": ds.type, "primary": ds.primary}
    if ds.secondary is not None:
        out["secondary"] = ds.secondary
    if ds.mode != "normal":
        out["mode"] = ds.mode
    if ds.mode == "switched" and ds.switched_from is not None:
        out["switched_from"] = ds.switched_from
    if ds.dedup:
        out["dedup"] = True
    if ds.hyperv_scale_out:
        out["hyperv_scale_out"] = True
    if ds.protection_group is not None:
        out["protection_group"] = ds.protection_group
    if ds.policy is not None:
        out["policy"] = Flow(_changed(ds.policy, Policy()))
    if ds.secondary_policy is not None:
        out["secondary_policy"] = Flow(_changed(ds.secondary_policy, Policy()))
    if ds.farm is not None:
        out["farm"] = ds.farm
    line = _flow_text(out)
    return Flow(out) if len(line) <= _FLOW_WIDTH else out


def _waiver(w: Waiver) -> dict[str, Any]:
    out: dict[str, Any] = {"rule": w.rule}
    if w.target is not None:
        out["target"] = w.target
    out["reason"] = w.reason
    if w.expires is not None:
        out["expires"] = w.expires
    return out


def _changed(value: Any, default: Any) -> dict[str, Any]:
    """The fields of a small dataclass that differ from its defaults, in declaration order."""
    return {
        name: getattr(value, name)
        for name in value.__slots__
        if getattr(value, name) != getattr(default, name)
    }


def plain_data(value: Any) -> Any:
    """`value` with its `Flow` wrappers taken off, lists for tuples (what YAML reads back)."""
    if isinstance(value, Flow):
        value = value.value
    if isinstance(value, dict):
        return {k: plain_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain_data(v) for v in value]
    return value


# -- JSON --------------------------------------------------------------------------------------


def dump_json(topology: Topology) -> str:
    """The topology as JSON text (the document `dump` writes, for `.json` files)."""
    return json.dumps(document(topology, flow=False), indent=2, ensure_ascii=False) + "\n"


# -- YAML --------------------------------------------------------------------------------------


def dump(topology: Topology) -> str:
    """The topology as YAML text (format.md, version 1) that `dpmsmt.loads` reads back equal.

    Examples
    --------
    >>> import dpmsmt
    >>> t = dpmsmt.loads("dpmsmt: 1\\ndpm_servers: {DPM1: {version: '10.19'}}")
    >>> print(dump(t), end="")
    dpmsmt: 1
    profile: strict
    dpm_servers:
      DPM1:
        version: '10.19'
    >>> dpmsmt.loads(dump(t)) == t
    True
    """
    lines: list[str] = []
    _block_mapping(document(topology), 0, lines)
    return "\n".join(lines) + "\n"


def _block_mapping(mapping: dict, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, value in mapping.items():
        k = scalar(key)
        if len(k) > _MAX_IMPLICIT_KEY:  # too long for an implicit key: `? key` / `: value`
            lines.append(f"{pad}? {k}")
            k = ""
        _block_entry(f"{pad}{k}:", value, indent, lines)


def _block_entry(head: str, value: Any, indent: int, lines: list[str]) -> None:
    """`head` (`key:` or `-`) followed by the value, inline or as an indented block."""
    if isinstance(value, dict) and value:
        lines.append(head)
        _block_mapping(value, indent + 2, lines)
    elif isinstance(value, list) and any(isinstance(v, dict | list | Flow) for v in value):
        lines.append(head)
        _block_sequence(value, indent + 2, lines)
    else:
        lines.append(f"{head} {_flow_text(value)}")


def _block_sequence(items: list, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for item in items:
        if isinstance(item, dict) and item:
            # `- key: value` then the other keys aligned under the first one
            sub: list[str] = []
            _block_mapping(item, indent + 2, sub)
            sub[0] = f"{pad}- {sub[0][indent + 2 :]}"
            lines.extend(sub)
        else:
            _block_entry(f"{pad}-", item, indent, lines)


def _flow_text(value: Any) -> str:
    if isinstance(value, Flow):
        value = value.value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {_flow_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow_text(v) for v in value) + "]"
    return scalar(value)


def scalar(value: Any) -> str:
    """One scalar as YAML 1.2 text that reads back as the same value and type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        return repr(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot write {type(value).__name__} {value!r} as YAML")
    if _SAFE_PLAIN.match(value) and value.lower() not in _RESERVED:
        return value
    if _NEEDS_ESCAPE.search(value) is None:
        return "'" + value.replace("'", "''") + "'"
    return '"' + "".join(_escape(c) for c in value) + '"'


def _escape(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    if _NEEDS_ESCAPE.match(c):
        n = ord(c)
        return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"
    return c
