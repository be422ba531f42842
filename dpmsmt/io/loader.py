"""Topology files -> `Topology`: parse, validate the shape, resolve names, fill defaults.

Every user mistake becomes a `LoadError` with file, line, column and document path; `load` raises
`TopologyError` holding all of them (the CLI prints the first). Names compare case-insensitively
and are stored in the spelling of their definition.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import gc
import os
import re
from pathlib import Path

from pydantic import ValidationError

from dpmsmt.findings import LoadError, TopologyError
from dpmsmt.io.enums import canonical_enums
from dpmsmt.io.json_reader import read_json
from dpmsmt.io.limits import MAX_BYTES, ReadFailure
from dpmsmt.io.names import MAX_LONG_NAME, MAX_NAME, name_problem, shown, text_problem
from dpmsmt.io.schema import (
    MIRROR,
    DatabaseDoc,
    DataSourceDoc,
    DpmServerDoc,
    FailureDoc,
    InactiveDoc,
    PolicyDoc,
    ServerDoc,
    TopologyDoc,
    WaiverDoc,
    defaults,
    known_keys,
    model_at,
)
from dpmsmt.io.source import STDIN, Unreadable, decode, display_name, read_bytes
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
    evolve,
    format_path,
)

__all__ = ["load", "loads"]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def load(path: str | os.PathLike, *, rule_ids: frozenset[str] | None = None) -> Topology:
    """Read a topology file (`.json` as JSON, anything else as YAML; `-`: standard input, JSON
    when it starts with `{` and parses as JSON, else YAML)."""
    path = os.fspath(path)
    name = display_name(path)
    try:
        raw = read_bytes(path)
        text = decode(raw)
    except Unreadable as e:  # about the whole file: the position-less form (cli.md)
        raise TopologyError([LoadError(name, 0, 0, "<root>", str(e))]) from None
    except ReadFailure as f:
        raise TopologyError([LoadError(name, f.line, f.column, "<root>", f.message)]) from None
    if path == STDIN:
        fmt = "json" if _looks_like_json(text) else "yaml"
    else:
        fmt = "json" if Path(name).suffix.lower() == ".json" else "yaml"
    return loads(text, format=fmt, file=name, rule_ids=rule_ids)


def _looks_like_json(text: str) -> bool:
    import json

    if not text.lstrip("\ufeff \t\r\n").startswith("{"):
        return False
    try:
        json.loads(text.lstrip("\ufeff"))
    except ValueError:
        return False
    return True


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
        if text.startswith("\ufeff"):
            message = "the file starts with two byte order marks (U+FEFF): remove one"
            raise TopologyError([LoadError(file, 1, 1, "<root>", message)])
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise TopologyError([LoadError(file, 1, 1, "<root>", "document is larger than 64 MiB")])
    reader = read_json if format == "json" else read_yaml
    # Reading makes millions of objects and no garbage cycles; with the cyclic garbage collector
    # running, its repeated passes over the growing heap took half of the reading time.
    enabled = gc.isenabled()
    gc.disable()
    try:
        try:
            data, locate = reader(text)
        except ReadFailure as f:
            raise f.error(file) from None
        if rule_ids is None:
            from dpmsmt.rules import rule_ids as _ids

            rule_ids = frozenset(_ids())
        return _build(_Context(data, locate, file, rule_ids))
    finally:
        if enabled:
            gc.enable()


class _Context:
    """What every part of one read shares: the errors so far and the names defined."""

    def __init__(self, data, locate, file: str, rule_ids: frozenset[str]):
        self.data, self.locate, self.file, self.rule_ids = data, locate, file, rule_ids
        self.errors: list[LoadError] = []
        # A name as written -> the DPM server it names (filled as references resolve: 200k data
        # sources name a few hundred DPM servers).
        self.resolved: dict[str, str] = {}
        self._good_names: set[str] = set()  # names already found printable and short enough
        self.dpm_names: dict[str, str] = {}
        self.server_names: dict[str, str] = {}

    def error(self, path: tuple, message: str, *, key: bool = False) -> None:
        pos = self.locate(path, key) or (1, 1)
        self.errors.append(LoadError(self.file, pos[0], pos[1], format_path(path), message))

    def check_name(
        self, name, path: tuple, what: str, limit: int = 255, *, key=False, optional=False
    ) -> None:
        """A name that cannot be printed safely or names nothing Windows can name is an error
        (dpmsmt/io/names.py); the caller keeps it, so that one bad name is one error.
        `optional`: an empty value means "none" there (`os: ""`)."""
        if (
            isinstance(name, str)
            and name not in self._good_names
            and (name.strip() or not optional)
        ):
            problem = name_problem(name, limit)
            if problem is None:
                self._good_names.add(name)
            else:
                self.error(path, f"{what} `{shown(name)}`: {problem}", key=key)

    def check_text(self, text, path: tuple) -> None:
        if isinstance(text, str):
            problem = text_problem(text)
            if problem is not None:
                self.error(path, f"`{path[-1]}`: {problem}")

    def names(self, mapping: dict, section: str, what: str) -> dict[str, str]:
        out: dict[str, str] = {}
        for name in mapping:
            self.check_name(name, (section, name), f"{what} name", key=True)
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
            close = (  # no suggestion for a name longer than any name (difflib is slow on 10 MB)
                difflib.get_close_matches(name, list(names.values()), n=1)
                if len(name) <= MAX_LONG_NAME
                else []
            )
            hint = f": did you mean {close[0]}?" if close else ""
            self.error(path, f"{what} {shown(name)} is not defined{hint}")
            return name
        return found

    def dpm_ref(self, name: str, path: tuple) -> str:
        found = self.resolved.get(name)
        if found is None:
            found = self.ref(name, self.dpm_names, path, "DPM server")
            if canon(name) in self.dpm_names:
                self.resolved[name] = found
        return found

    def dpm_list(self, names: list[str], path: tuple) -> tuple[str, ...]:
        out: list[str] = []
        for i, n in enumerate(names):
            resolved = self.dpm_ref(n, (*path, i))
            if resolved in out:
                self.error((*path, i), f"{resolved} is listed twice")
            else:
                out.append(resolved)
        return tuple(out)


def _build(ctx: _Context) -> Topology:
    if not isinstance(ctx.data, dict):
        ctx.error((), "a topology file is a mapping with `dpmsmt: 1` at the top")
        raise TopologyError(ctx.errors)
    doc = _validate(ctx)

    top = defaults(TopologyDoc)
    dpm_docs = doc["dpm_servers"] or {}
    server_docs = doc.get("servers") or {}
    ctx.dpm_names = ctx.names(dpm_docs, "dpm_servers", "DPM server")
    ctx.server_names = ctx.names(server_docs, "servers", "protected server")
    for key, name in ctx.server_names.items():
        if key in ctx.dpm_names:
            ctx.error(
                ("servers", name),
                f"{name} is defined both as a DPM server and as a protected server "
                "(a DPM server protected by a secondary is written with `protects`)",
                key=True,
            )
    libraries = ctx.names(doc.get("tape_libraries") or {}, "tape_libraries", "tape library")

    dpms = {name: _dpm_server(ctx, name, d, libraries) for name, d in dpm_docs.items()}
    builder = _Servers(ctx)
    servers = {name: builder.server(name, s) for name, s in server_docs.items()}
    _check_identities(ctx, dpms)
    servers = builder.resolve_farms(servers)

    waivers = tuple(_waiver(ctx, i, w) for i, w in enumerate(doc.get("waivers") or []))
    for key in ("name", "description"):
        ctx.check_text(doc.get(key), (key,))
    if ctx.errors:
        raise TopologyError(ctx.errors)
    return Topology(
        dpm_servers=dpms,
        servers=servers,
        profile=doc.get("profile", top["profile"]),
        name=doc.get("name", top["name"]),
        description=doc.get("description", top["description"]),
        tape_libraries=tuple(libraries.values()),
        waivers=waivers,
        expect=doc.get("expect", top["expect"]),
        file=ctx.file,
        locate=ctx.locate,
    )


def _validate(ctx: _Context) -> dict:
    """The document validated, as plain dicts holding the keys the file gives.

    The TypedDict mirror of the models (schema.MIRROR) accepts exactly what the
    models accept and is twice as fast; the models validate again only to report errors.
    """
    try:
        return MIRROR.validate_python(ctx.data)
    except ValidationError:
        pass
    if canonical_enums(ctx.data, TopologyDoc):  # `type: SQL` is `type: sql`
        try:
            return MIRROR.validate_python(ctx.data)
        except ValidationError:
            pass
    try:
        doc = TopologyDoc.model_validate(ctx.data)
    except ValidationError as exc:
        _validation_errors(ctx, exc)
        raise TopologyError(ctx.errors) from None
    # Not reached while the mirror agrees with the models; if it ever does not, the models
    # decide, as they did before the mirror existed.
    return doc.model_dump(by_alias=True, exclude_unset=True)  # pragma: no cover


def _validation_errors(ctx: _Context, exc: ValidationError) -> None:
    seen: set[tuple] = set()
    for err in exc.errors():
        path, rest = _doc_path(ctx.data, err["loc"])
        if path in seen:
            continue  # one message per place (a union reports once per member)
        seen.add(path)
        kind, msg = err["type"], err["msg"]
        if kind == "extra_forbidden":
            key = path[-1]
            model = model_at(path[:-1])
            hint = ""
            if model is not None and len(str(key)) <= MAX_NAME:  # difflib is slow on 10 MB
                close = difflib.get_close_matches(str(key), known_keys(model), n=1)
                if close:
                    hint = f": did you mean `{close[0]}`?"
            ctx.error(path, f"unknown key `{shown(str(key))}`{hint}", key=True)
        elif kind == "string_too_short":
            what = f"`{path[-1]}`: " if path and isinstance(path[-1], str) else ""
            ctx.error(path, f"{what}{name_problem('')}")
        elif kind == "missing":
            missing = rest[-1] if rest else (path[-1] if path else "?")
            ctx.error(path, f"missing required key `{missing}`")
        else:
            if msg.startswith("Value error, "):
                msg = msg[len("Value error, ") :]
            what = f"`{path[-1]}`: " if path and isinstance(path[-1], str) else ""
            ctx.error(path, f"{what}{msg[:1].lower()}{msg[1:]}")


def _doc_path(data, loc: tuple) -> tuple[tuple, tuple]:
    """Keep the parts of a pydantic location that index the document (drop union tags)."""
    cur, path = data, []
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


# -- DPM servers ---------------------------------------------------------------------------------


def _dpm_server(ctx: _Context, name: str, d: dict, libraries: dict[str, str]) -> DpmServer:
    path = ("dpm_servers", name)
    dflt = defaults(DpmServerDoc)
    status = d.get("status", dflt["status"])
    failure = d.get("failure", dflt["failure"])
    if failure is not None and status != "failed":
        ctx.error((*path, "failure"), "`failure` is given only with `status: failed`")
    inactive = []
    for i, entry in enumerate(d.get("inactive", dflt["inactive"])):
        src = entry.get("from", defaults(InactiveDoc)["from"])
        if src is not None:
            src = ctx.dpm_ref(src, (*path, "inactive", i, "from"))
        inactive.append(InactiveReplica(entry["datasource"], src))
    database = d.get("database")
    tape_library = d.get("tape_library", dflt["tape_library"])
    ctx.check_name(d["version"], (*path, "version"), "version", optional=True)
    ctx.check_name(d.get("os"), (*path, "os"), "OS version", optional=True)
    return DpmServer(
        name=name,
        version=d["version"],
        kind=d.get("kind", dflt["kind"]),
        os=d.get("os", dflt["os"]),
        status=status,
        failure=(
            (Failure(**{**defaults(FailureDoc), **failure}) if failure is not None else Failure())
            if status == "failed"
            else None
        ),
        protects=ctx.dpm_list(d.get("protects", dflt["protects"]), (*path, "protects")),
        protects_own_database=d.get("protects_own_database", dflt["protects_own_database"]),
        database=Database(
            **(
                dflt["database"].model_dump()
                if database is None
                else {**defaults(DatabaseDoc), **database}
            )
        ),
        secondary_scope=tuple(dict.fromkeys(d.get("secondary_scope", dflt["secondary_scope"]))),
        trust=d.get("trust", dflt["trust"]),
        auth=d.get("auth", dflt["auth"]),
        knows=ctx.dpm_list(d.get("knows", dflt["knows"]), (*path, "knows")),
        inactive=tuple(inactive),
        tape_library=(
            ctx.ref(tape_library, libraries, (*path, "tape_library"), "tape library")
            if tape_library is not None
            else None
        ),
        location=d.get("location", dflt["location"]),
        services_account=d.get("services_account", dflt["services_account"]),
        identity=d.get("identity", dflt["identity"]),
        domain=d.get("domain", dflt["domain"]),
    )


def _check_identities(ctx: _Context, dpms: dict[str, DpmServer]) -> None:
    """Two DPM servers of one snapshot cannot share an `identity` (it is what survives a
    rename, so it names one server)."""
    seen: dict[str, str] = {}
    for name, d in dpms.items():
        if d.identity is None:
            continue
        key = canon(d.identity)
        if key in seen:
            ctx.error(
                ("dpm_servers", name, "identity"),
                f"identity {d.identity} is also the identity of {seen[key]}; an identity names "
                "one DPM server",
            )
        else:
            seen[key] = name


# -- protected servers ---------------------------------------------------------------------------


class _Servers:
    """Builds protected servers; equal policies share one `Policy` across all of them.

    The data source loop runs 200k times in a large estate: defaults are read once, resolved
    names and policies come from caches, and a path is made only for an error."""

    def __init__(self, ctx: _Context):
        self.ctx = ctx
        self._policies: dict[tuple, Policy] = {}
        self.dflt = defaults(ServerDoc)
        self.ds_dflt = defaults(DataSourceDoc)

    def server(self, name: str, s: dict) -> ProtectedServer:
        path = ("servers", name)
        dflt = self.dflt
        agent = s.get("agent", dflt["agent"])
        if agent is None:
            agents: tuple[str, ...] = ()
        elif isinstance(agent, str):
            agents = (self.ctx.dpm_ref(agent, (*path, "agent")),)
        else:
            agents = self.ctx.dpm_list(agent, (*path, "agent"))
        datasources = self.datasources(name, s.get("datasources", dflt["datasources"]), agents)
        return ProtectedServer(
            name=name,
            agents=agents,
            cluster=s.get("cluster", dflt["cluster"]),
            datasources=datasources,
            location=s.get("location", dflt["location"]),
        )

    def datasources(
        self, name: str, items: list, agents: tuple[str, ...]
    ) -> tuple[DataSource, ...]:
        """Server `name`'s data sources (a second one of the same name is an error, not one)."""
        d = self.ds_dflt
        d_type, d_secondary, d_mode = d["type"], d["secondary"], d["mode"]
        d_switched_from, d_dedup = d["switched_from"], d["dedup"]
        d_scale_out, d_group = d["hyperv_scale_out"], d["protection_group"]
        d_policy, d_secondary_policy = d["policy"], d["secondary_policy"]
        resolved, dpm, policy_of, first = self.ctx.resolved, self.dpm, self._policy, self.first
        default_primary = agents[0] if agents else None
        out: list[DataSource] = []
        seen: dict[str, int] = {}
        for i, ds in enumerate(items):
            if not first(name, i, ds, seen):
                continue
            if "primary" in ds or len(agents) > 1:
                primary = self.primary(name, i, ds, agents)
            else:
                primary = default_primary
            secondary = ds.get("secondary", d_secondary)
            if secondary is not None:
                secondary = resolved.get(secondary) or dpm(secondary, name, i, "secondary")
            mode = ds.get("mode", d_mode)
            given_from = ds.get("switched_from", d_switched_from)
            switched_from = None
            if mode == "switched" or given_from is not None:
                switched_from = self.switched_from(name, i, mode, given_from)
            policy = ds.get("policy", d_policy)
            secondary_policy = ds.get("secondary_policy", d_secondary_policy)
            out.append(
                DataSource(
                    server=name,
                    name=ds["name"],
                    type=ds.get("type", d_type),
                    primary=primary,
                    secondary=secondary,
                    mode=mode,
                    switched_from=switched_from,
                    dedup=ds.get("dedup", d_dedup),
                    hyperv_scale_out=ds.get("hyperv_scale_out", d_scale_out),
                    protection_group=ds.get("protection_group", d_group),
                    policy=None if policy is None else policy_of(policy),
                    secondary_policy=(
                        None if secondary_policy is None else policy_of(secondary_policy)
                    ),
                    farm=ds.get("farm"),
                    index=i,
                )
            )
        return tuple(out)

    def first(self, name: str, i: int, ds: dict, seen: dict[str, int]) -> bool:
        """Checks data source `i`'s names; False when an earlier one has its name."""
        ctx, ds_name = self.ctx, ds["name"]
        ctx.check_name(
            ds_name, ("servers", name, "datasources", i, "name"), "data source name", MAX_LONG_NAME
        )
        if "protection_group" in ds:
            ctx.check_name(
                ds["protection_group"],
                ("servers", name, "datasources", i, "protection_group"),
                "protection group name",
                MAX_LONG_NAME,
                optional=True,
            )
        key = canon(ds_name)
        if key in seen:
            ctx.error(
                ("servers", name, "datasources", i, "name"),
                f"data source {name}/{ds_name} is listed twice on {name} (also at "
                f"datasources[{seen[key]}]); a data source is protected once",
            )
            return False
        seen[key] = i
        return True

    def dpm(self, ref: str | None, server: str, i: int, key: str) -> str | None:
        """The DPM server a data source's `key` names (None: none)."""
        if ref is None:
            return None
        return self.ctx.resolved.get(ref) or self.ctx.dpm_ref(
            ref, ("servers", server, "datasources", i, key)
        )

    def primary(self, name: str, i: int, ds: dict, agents: tuple[str, ...]) -> str | None:
        if "primary" in ds:
            return self.dpm(ds["primary"], name, i, "primary")
        if len(agents) > 1:
            self.ctx.error(
                ("servers", name, "datasources", i),
                "`primary` is required when the server's `agent` is a list (scaled-out "
                "protection has one agent owner per node)",
            )
            return None
        return agents[0] if agents else None

    def switched_from(self, name: str, i: int, mode: str, given: str | None) -> str | None:
        path = ("servers", name, "datasources", i)
        if mode == "switched":
            if given is None:
                self.ctx.error(path, "`switched_from` is required with `mode: switched`")
                return None
            return self.ctx.dpm_ref(given, (*path, "switched_from"))
        if given is not None:
            self.ctx.error(
                (*path, "switched_from"),
                "`switched_from` is given only with `mode: switched`",
                key=True,
            )
        return None

    def resolve_farms(self, servers: dict[str, ProtectedServer]) -> dict[str, ProtectedServer]:
        """`farm` names a defined `sharepoint` data source, and only a `sql` one has it; the id is
        stored in its defined spelling."""
        if not any(ds.farm is not None for s in servers.values() for ds in s.datasources):
            return servers  # no index of 200k data sources for nothing
        by_id = {canon(ds.id): ds for s in servers.values() for ds in s.datasources}
        out = dict(servers)
        for name, s in servers.items():
            changed = []
            for ds in s.datasources:
                if ds.farm is not None:
                    ds = evolve(ds, farm=self._farm_ref(ds, by_id))
                changed.append(ds)
            out[name] = evolve(s, datasources=tuple(changed))
        return out

    def _farm_ref(self, ds: DataSource, by_id: dict[str, DataSource]) -> str:
        path = ("servers", ds.server, "datasources", ds.index, "farm")
        if ds.type != "sql":
            self.ctx.error(
                path, f"`farm` is given only on a `sql` data source ({ds.id} is {ds.type})"
            )
            return ds.farm
        target = by_id.get(canon(ds.farm)) if "/" in ds.farm else None
        if target is None:
            self.ctx.error(path, f"farm {ds.farm} is not a defined data source (SERVER/NAME)")
            return ds.farm
        if target.type != "sharepoint":
            self.ctx.error(
                path, f"farm {target.id} is a `{target.type}` data source, not `sharepoint`"
            )
        return target.id

    def _policy(self, p: dict) -> Policy:
        """The `Policy` of a policy document; equal policies share one (frozen) instance."""
        dflt = defaults(PolicyDoc)
        key = (
            p.get("short_term", dflt["short_term"]),
            p.get("long_term", dflt["long_term"]),
            p.get("sync_minutes", dflt["sync_minutes"]),
            p.get("sync_before_recovery_point", dflt["sync_before_recovery_point"]),
            tuple(p.get("exclude_extensions", dflt["exclude_extensions"])),
        )
        found = self._policies.get(key)
        if found is None:
            found = self._policies[key] = Policy(
                short_term=key[0],
                long_term=key[1],
                sync_minutes=key[2],
                sync_before_recovery_point=key[3],
                exclude_extensions=key[4],
            )
        return found


# -- waivers --------------------------------------------------------------------------------------


def _waiver(ctx: _Context, i: int, w: dict) -> Waiver:
    path = ("waivers", i)
    dflt = defaults(WaiverDoc)
    rule = w["rule"]
    if rule not in ctx.rule_ids:
        close = difflib.get_close_matches(rule, sorted(ctx.rule_ids), n=1)
        hint = f": did you mean {close[0]}?" if close else ""
        ctx.error((*path, "rule"), f"unknown rule id {shown(rule)}{hint}")
    ctx.check_text(w["reason"], (*path, "reason"))
    target = w.get("target", dflt["target"])
    if target is not None:
        target = _waiver_target(ctx, target, (*path, "target"))
    expires = w.get("expires", dflt["expires"])
    if expires is not None:
        try:
            if not _ISO_DATE.fullmatch(expires):  # Python also reads `20260101`
                raise ValueError
            _dt.date.fromisoformat(expires)
        except ValueError:
            ctx.error((*path, "expires"), f"`expires` is not an ISO date: {shown(expires)!r}")
    return Waiver(rule=rule, reason=w["reason"], target=target, expires=expires, index=i)


def _waiver_target(ctx: _Context, target: str, path: tuple) -> str:
    key = canon(target)
    if key in ctx.dpm_names:
        return ctx.dpm_names[key]
    if key in ctx.server_names:
        return ctx.server_names[key]
    server, sep, ds = target.partition("/")
    if sep and canon(server) in ctx.server_names:
        sname = ctx.server_names[canon(server)]
        for d in (ctx.data.get("servers") or {}).get(sname, {}).get("datasources") or []:
            if (
                isinstance(d, dict)
                and isinstance(d.get("name"), str)
                and canon(d["name"]) == canon(ds)
            ):
                return f"{sname}/{d['name']}"
    ctx.error(
        path,
        f"waiver target {shown(target)} is not a defined DPM server, server or data source",
    )
    return target
