"""Topology files -> `Topology`: parse, validate the shape, resolve names, fill defaults.

Every user mistake becomes a `LoadError` with file, line, column and document path; `load` raises
`TopologyError` holding all of them (the CLI prints the first). Names compare case-insensitively
and are stored in the spelling of their definition.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
from pathlib import Path

from pydantic import ValidationError

from dpmsmt.findings import LoadError, TopologyError
from dpmsmt.io.json_reader import read_json
from dpmsmt.io.limits import MAX_BYTES, ReadFailure
from dpmsmt.io.schema import TopologyDoc, known_keys, model_at
from dpmsmt.io.yaml_reader import read_yaml
from dpmsmt.model import (
    Database,
    DataSource,
    DpmServer,
    Failure,
    InactiveReplica,
    Policy,
    ProtectedServer,
    Topology,
    Waiver,
    canon,
    format_path,
)

__all__ = ["load", "loads"]


def load(path: str | os.PathLike, *, rule_ids: frozenset[str] | None = None) -> Topology:
    """Read a topology file (`.json` as JSON, anything else as YAML)."""
    name = str(path)
    try:
        size = os.stat(path).st_size
        if size > MAX_BYTES:
            raise TopologyError(
                [LoadError(name, 1, 1, "<root>", f"file is larger than 64 MiB ({size:,} bytes)")]
            )
        with open(path, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except OSError as e:
        raise TopologyError(
            [LoadError(name, 1, 1, "<root>", f"cannot read file: {e.strerror}")]
        ) from None
    if len(raw) > MAX_BYTES:
        raise TopologyError([LoadError(name, 1, 1, "<root>", "file is larger than 64 MiB")])
    text = _decode(raw, name)
    fmt = "json" if Path(name).suffix.lower() == ".json" else "yaml"
    return loads(text, format=fmt, file=name, rule_ids=rule_ids)


def loads(
    text: str,
    *,
    format: str = "yaml",
    file: str = "<string>",
    rule_ids: frozenset[str] | None = None,
) -> Topology:
    """Read a topology from text. `format` is "yaml" or "json"."""
    if text.startswith("\ufeff"):
        text = text[1:]
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise TopologyError([LoadError(file, 1, 1, "<root>", "document is larger than 64 MiB")])
    reader = read_json if format == "json" else read_yaml
    try:
        data, locate = reader(text)
    except ReadFailure as f:
        raise TopologyError(
            [LoadError(file, f.line, f.column, format_path(f.path), f.message)]
        ) from None
    if rule_ids is None:
        from dpmsmt.rules import rule_ids as _ids

        rule_ids = frozenset(_ids())
    return _Builder(data, locate, file, rule_ids).build()


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        col = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise TopologyError(
            [LoadError(name, line, col, "<root>", "the file is not valid UTF-8")]
        ) from None


class _Builder:
    def __init__(self, data, locate, file: str, rule_ids: frozenset[str]):
        self.data, self.locate, self.file, self.rule_ids = data, locate, file, rule_ids
        self.errors: list[LoadError] = []

    # -- errors ---------------------------------------------------------------------------
    def error(self, path: tuple, message: str, *, key: bool = False) -> None:
        pos = self.locate(path, key) or (1, 1)
        self.errors.append(LoadError(self.file, pos[0], pos[1], format_path(path), message))

    def _validation_errors(self, exc: ValidationError) -> None:
        seen: set[tuple] = set()
        for err in exc.errors():
            path, rest = self._doc_path(err["loc"])
            if path in seen:
                continue  # one message per place (a union reports once per member)
            seen.add(path)
            kind, msg = err["type"], err["msg"]
            if kind == "extra_forbidden":
                key = path[-1]
                model = model_at(path[:-1])
                hint = ""
                if model is not None:
                    close = difflib.get_close_matches(str(key), known_keys(model), n=1)
                    if close:
                        hint = f": did you mean `{close[0]}`?"
                self.error(path, f"unknown key `{key}`{hint}", key=True)
            elif kind == "missing":
                missing = rest[-1] if rest else (path[-1] if path else "?")
                self.error(path, f"missing required key `{missing}`")
            else:
                if msg.startswith("Value error, "):
                    msg = msg[len("Value error, ") :]
                what = f"`{path[-1]}`: " if path and isinstance(path[-1], str) else ""
                self.error(path, f"{what}{msg[:1].lower()}{msg[1:]}")

    def _doc_path(self, loc: tuple) -> tuple[tuple, tuple]:
        """Keep the parts of a pydantic location that index the document (drop union tags)."""
        cur, path = self.data, []
        rest: list = []
        for part in loc:
            if (isinstance(cur, dict) and part in cur) or (
                isinstance(cur, list) and isinstance(part, int) and 0 <= part < len(cur)
            ):
                cur = cur[part]
                path.append(part)
            else:
                rest.append(part)
        return tuple(path), tuple(rest)

    # -- build ----------------------------------------------------------------------------
    def build(self) -> Topology:
        if not isinstance(self.data, dict):
            self.error((), "a topology file is a mapping with `dpmsmt: 1` at the top")
            raise TopologyError(self.errors)
        try:
            doc = TopologyDoc.model_validate(self.data)
        except ValidationError as exc:
            self._validation_errors(exc)
            raise TopologyError(self.errors) from None

        dpm_docs = doc.dpm_servers or {}
        server_docs = doc.servers or {}
        self.dpm_names = self._names(dpm_docs, "dpm_servers", "DPM server")
        self.server_names = self._names(server_docs, "servers", "protected server")
        for key, name in self.server_names.items():
            if key in self.dpm_names:
                self.error(
                    ("servers", name),
                    f"{name} is defined both as a DPM server and as a protected server "
                    "(a DPM server protected by a secondary is written with `protects`)",
                    key=True,
                )
        libraries = self._names(doc.tape_libraries or {}, "tape_libraries", "tape library")

        dpms = {}
        for name, d in dpm_docs.items():
            path = ("dpm_servers", name)
            if d.failure is not None and d.status != "failed":
                self.error((*path, "failure"), "`failure` is given only with `status: failed`")
            inactive = []
            for i, entry in enumerate(d.inactive):
                src = None
                if entry.from_ is not None:
                    src = self.dpm_ref(entry.from_, (*path, "inactive", i, "from"))
                inactive.append(InactiveReplica(entry.datasource, src))
            dpms[name] = DpmServer(
                name=name,
                version=d.version,
                kind=d.kind,
                os=d.os,
                status=d.status,
                failure=(
                    (Failure(**d.failure.model_dump()) if d.failure else Failure())
                    if d.status == "failed"
                    else None
                ),
                protects=self.dpm_list(d.protects, (*path, "protects")),
                protects_own_database=d.protects_own_database,
                database=Database(**d.database.model_dump()),
                secondary_scope=tuple(dict.fromkeys(d.secondary_scope)),
                trust=d.trust,
                auth=d.auth,
                knows=self.dpm_list(d.knows, (*path, "knows")),
                inactive=tuple(inactive),
                tape_library=(
                    self.ref(d.tape_library, libraries, (*path, "tape_library"), "tape library")
                    if d.tape_library is not None
                    else None
                ),
            )

        servers = {}
        for name, s in server_docs.items():
            servers[name] = self.server(name, s)

        waivers = tuple(self.waiver(i, w) for i, w in enumerate(doc.waivers or []))
        if self.errors:
            raise TopologyError(self.errors)
        return Topology(
            dpm_servers=dpms,
            servers=servers,
            profile=doc.profile,
            name=doc.name,
            description=doc.description,
            tape_libraries=tuple(libraries.values()),
            waivers=waivers,
            expect=doc.expect,
            file=self.file,
            locate=self.locate,
        )

    def _names(self, mapping: dict, section: str, what: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in mapping:
            key = canon(name)
            if key in out:
                self.error(
                    (section, name),
                    f"{what} {name} is defined twice ({out[key]}; names compare without "
                    "regard to case)",
                    key=True,
                )
            else:
                out[key] = name
        return out

    def ref(self, name: str, names: dict[str, str], path: tuple, what: str) -> str:
        found = names.get(canon(name))
        if found is None:
            close = difflib.get_close_matches(name, list(names.values()), n=1)
            hint = f": did you mean {close[0]}?" if close else ""
            self.error(path, f"{what} {name} is not defined{hint}")
            return name
        return found

    def dpm_ref(self, name: str, path: tuple) -> str:
        return self.ref(name, self.dpm_names, path, "DPM server")

    def dpm_list(self, names: list[str], path: tuple) -> tuple[str, ...]:
        out: list[str] = []
        for i, n in enumerate(names):
            resolved = self.dpm_ref(n, (*path, i))
            if resolved in out:
                self.error((*path, i), f"{resolved} is listed twice")
            else:
                out.append(resolved)
        return tuple(out)

    def server(self, name: str, s) -> ProtectedServer:
        path = ("servers", name)
        if s.agent is None:
            agents: tuple[str, ...] = ()
        elif isinstance(s.agent, str):
            agents = (self.dpm_ref(s.agent, (*path, "agent")),)
        else:
            agents = self.dpm_list(s.agent, (*path, "agent"))
        datasources = []
        seen: dict[str, int] = {}
        for i, ds in enumerate(s.datasources):
            dpath = (*path, "datasources", i)
            key = canon(ds.name)
            if key in seen:
                self.error(
                    (*dpath, "name"),
                    f"data source {name}/{ds.name} is listed twice on {name} (also at "
                    f"datasources[{seen[key]}]); a data source is protected once",
                )
                continue
            seen[key] = i
            if "primary" in ds.model_fields_set:
                primary = (
                    None if ds.primary is None else self.dpm_ref(ds.primary, (*dpath, "primary"))
                )
            elif len(agents) > 1:
                self.error(
                    dpath,
                    "`primary` is required when the server's `agent` is a list (scaled-out "
                    "protection has one agent owner per node)",
                )
                primary = None
            else:
                primary = agents[0] if agents else None
            secondary = (
                None if ds.secondary is None else self.dpm_ref(ds.secondary, (*dpath, "secondary"))
            )
            switched_from = None
            if ds.mode == "switched":
                if ds.switched_from is None:
                    self.error(dpath, "`switched_from` is required with `mode: switched`")
                else:
                    switched_from = self.dpm_ref(ds.switched_from, (*dpath, "switched_from"))
            elif ds.switched_from is not None:
                self.error(
                    (*dpath, "switched_from"),
                    "`switched_from` is given only with `mode: switched`",
                    key=True,
                )
            datasources.append(
                DataSource(
                    server=name,
                    name=ds.name,
                    type=ds.type,
                    primary=primary,
                    secondary=secondary,
                    mode=ds.mode,
                    switched_from=switched_from,
                    dedup=ds.dedup,
                    hyperv_scale_out=ds.hyperv_scale_out,
                    protection_group=ds.protection_group,
                    policy=_policy(ds.policy),
                    secondary_policy=_policy(ds.secondary_policy),
                    index=i,
                )
            )
        return ProtectedServer(
            name=name, agents=agents, cluster=s.cluster, datasources=tuple(datasources)
        )

    def waiver(self, i: int, w) -> Waiver:
        path = ("waivers", i)
        if w.rule not in self.rule_ids:
            close = difflib.get_close_matches(w.rule, sorted(self.rule_ids), n=1)
            hint = f": did you mean {close[0]}?" if close else ""
            self.error((*path, "rule"), f"unknown rule id {w.rule}{hint}")
        target = w.target
        if target is not None:
            target = self._waiver_target(target, (*path, "target"))
        if w.expires is not None:
            try:
                _dt.date.fromisoformat(w.expires)
            except ValueError:
                self.error((*path, "expires"), f"`expires` is not an ISO date: {w.expires!r}")
        return Waiver(rule=w.rule, reason=w.reason, target=target, expires=w.expires, index=i)

    def _waiver_target(self, target: str, path: tuple) -> str:
        key = canon(target)
        if key in self.dpm_names:
            return self.dpm_names[key]
        if key in self.server_names:
            return self.server_names[key]
        server, sep, ds = target.partition("/")
        if sep and canon(server) in self.server_names:
            sname = self.server_names[canon(server)]
            for d in (self.data.get("servers") or {}).get(sname, {}).get("datasources") or []:
                if (
                    isinstance(d, dict)
                    and isinstance(d.get("name"), str)
                    and canon(d["name"]) == canon(ds)
                ):
                    return f"{sname}/{d['name']}"
        self.error(
            path, f"waiver target {target} is not a defined DPM server, server or data source"
        )
        return target


def _policy(p) -> Policy | None:
    if p is None:
        return None
    return Policy(
        short_term=p.short_term,
        long_term=p.long_term,
        sync_minutes=p.sync_minutes,
        sync_before_recovery_point=p.sync_before_recovery_point,
        exclude_extensions=tuple(p.exclude_extensions),
    )
