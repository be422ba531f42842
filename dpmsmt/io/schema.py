"""The topology file's shape (format.md) as pydantic models: types, enums, defaults, no extras.

Why pydantic: its Rust core validates a 200k-data-source document quickly, reports every error
with the path where it happened, forbids unknown keys (`extra="forbid"`), and gives the JSON
Schema that `dpmsmt schema` prints for editors, from the same definitions. Cross-references
(undefined names, duplicates, per-topology defaults) are checked afterwards in `loader.py`.
"""

from __future__ import annotations

import types
import typing
from typing import Annotated, Any, Literal

import typing_extensions
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter

__all__ = ["MIRROR", "Mirror", "TopologyDoc", "defaults", "model_at", "schema"]

Name = Annotated[str, Field(min_length=1)]


def _version(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        raise ValueError(
            f'a version is a string: write it in quotes, e.g. "{value}" '
            "(unquoted, YAML reads it as a number and drops digits)"
        )
    return value


def _os(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'an OS version is a string: write it in quotes, e.g. "{value}"')
    return value


def _format_version(value: Any) -> Any:
    if type(value) is not int:  # Literal[1] alone takes `true` and `1.0` (they equal 1)
        raise ValueError("the format version is the integer 1: write `dpmsmt: 1`")
    return value


def _profile(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # `profile: 2019` unquoted is accepted as "2019"
    return value


class _Doc(BaseModel):
    """Defaults of list fields are tuples: pydantic deep-copies an unhashable default for every
    instance that uses it (120k copies of `exclude_extensions` in a 200k estate, seconds), a
    tuple it shares; the loader only iterates them, and the JSON Schema shows them as lists."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class PolicyDoc(_Doc):
    short_term: Literal["disk", "tape"] = "disk"
    long_term: Literal["none", "tape", "online", "online-and-tape"] = "none"
    sync_minutes: int | None = None
    sync_before_recovery_point: bool = False
    exclude_extensions: list[str] = ()  # type: ignore[assignment]  # see _Doc


class FailureDoc(_Doc):
    database: Literal["intact", "lost"] = "lost"
    storage: Literal["intact", "lost"] = "intact"


class DatabaseDoc(_Doc):
    sql: Literal["local", "remote"] = "local"
    backup: (
        Literal["secondary", "azure", "own-pool", "tape", "share", "sql-native", "none"] | None
    ) = None
    vss_writer: Literal["running", "stopped"] = "running"


class InactiveDoc(_Doc):
    datasource: Name
    from_: Name | None = Field(default=None, alias="from")


class DpmServerDoc(_Doc):
    kind: Literal["dpm", "mabs"] = "dpm"
    version: Annotated[str, BeforeValidator(_version), Field(min_length=1)]
    os: Annotated[str | None, BeforeValidator(_os)] = None
    status: Literal["up", "failed", "removed"] = "up"
    failure: FailureDoc | None = None
    protects: list[Name] = ()  # type: ignore[assignment]
    protects_own_database: bool = False
    database: DatabaseDoc = DatabaseDoc()
    secondary_scope: list[Literal["database", "config", "scripting", "replicas"]] = (  # type: ignore[assignment]
        "database",
        "config",
        "scripting",
        "replicas",
    )
    trust: Literal["trusted", "untrusted", "workgroup"] = "trusted"
    auth: Literal["kerberos", "ntlm", "certificate"] = "kerberos"
    knows: list[Name] = ()  # type: ignore[assignment]
    inactive: list[InactiveDoc] = ()  # type: ignore[assignment]
    tape_library: Name | None = None
    location: Literal["on-premises", "azure"] = Field(
        "on-premises",
        description="Where it runs: `on-premises` (physical, Hyper-V or VMware) or `azure` (an "
        "Azure virtual machine). Protection does not cross the boundary (AZURE-BOUNDARY).",
    )
    services_account: Literal["local-system", "domain"] | None = Field(
        None,
        description="The account its DPM services (DPMRA) run as; not said when absent. A "
        "primary with a secondary needs Local System (SERVICES-LOCAL-SYSTEM).",
    )
    identity: Name | None = Field(
        None,
        description="A stable identity that survives a rename: the DPM database's server GUID or "
        "the computer's AD object GUID. Unique among DPM servers.",
    )
    domain: Name | None = Field(
        None,
        description="Its Active Directory domain (FQDN); not said when absent.",
    )


DatasourceType = Literal[
    "volume",
    "share",
    "folder",
    "sql",
    "hyperv",
    "exchange",
    "sharepoint",
    "system-state",
    "bare-metal",
    "client",
    "other",
    "vmware",
]


class DataSourceDoc(_Doc):
    name: Name
    type: DatasourceType = "volume"
    primary: Name | None = None  # when not given: the server's agent (see loader)
    secondary: Name | None = None
    mode: Literal["normal", "switched"] = "normal"
    switched_from: Name | None = None
    dedup: bool = False
    hyperv_scale_out: bool = False
    protection_group: str | None = None
    policy: PolicyDoc | None = None
    secondary_policy: PolicyDoc | None = None
    farm: Name | None = Field(
        None,
        description="Only on a `sql` data source: the id (`SERVER/NAME`) of the `sharepoint` farm "
        "data source this database belongs to (FARM-DATABASE-NO-SECONDARY).",
    )


class ServerDoc(_Doc):
    agent: Name | list[Name] | None = None
    cluster: bool = False
    datasources: list[DataSourceDoc] = ()  # type: ignore[assignment]
    location: Literal["on-premises", "azure"] = Field(
        "on-premises",
        description="Where the protected computer runs: `on-premises` or `azure` (an Azure "
        "virtual machine). A `vmware` data source's server is the vCenter or ESXi host.",
    )


class TapeLibraryDoc(_Doc):
    pass


class WaiverDoc(_Doc):
    rule: Name
    target: Name | None = None
    reason: Name
    expires: str | None = None


class TopologyDoc(_Doc):
    dpmsmt: Annotated[Literal[1], BeforeValidator(_format_version)]
    profile: Annotated[
        Literal["strict", "2012", "2016", "2019", "2022", "2025"], BeforeValidator(_profile)
    ] = "strict"
    name: str | None = None
    description: str | None = None
    dpm_servers: dict[str, DpmServerDoc] | None
    servers: dict[str, ServerDoc] | None = None
    tape_libraries: dict[str, TapeLibraryDoc | None] | None = None
    waivers: list[WaiverDoc] | None = None
    expect: Any = None


def model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at a document path (for "did you mean")."""
    cur: Any = TopologyDoc
    expecting_key = False
    for part in loc:
        if expecting_key:
            expecting_key = False
            continue
        cur = _unwrap(cur)
        origin = typing.get_origin(cur)
        if origin is dict:
            cur = typing.get_args(cur)[1]
            continue
        if origin is list:
            cur = typing.get_args(cur)[0]
            continue
        if isinstance(cur, type) and issubclass(cur, BaseModel):
            fields = cur.model_fields
            name = next((n for n, f in fields.items() if part in (n, f.alias)), None)
            if name is None:
                return None
            ann = _unwrap(fields[name].annotation)
            if typing.get_origin(ann) is dict:
                cur, expecting_key = typing.get_args(ann)[1], True
            else:
                cur = ann
            continue
        return None
    cur = _unwrap(cur)
    if typing.get_origin(cur) is list:
        cur = _unwrap(typing.get_args(cur)[0])
    return cur if isinstance(cur, type) and issubclass(cur, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    """Strip Optional, Annotated and unions down to the model or container type in them."""
    while True:
        origin = typing.get_origin(tp)
        if origin is Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            models = [
                a
                for a in args
                if (isinstance(a, type) and issubclass(a, BaseModel))
                or typing.get_origin(a) in (dict, list)
            ]
            tp = models[-1] if models else args[0]
            continue
        return tp


def known_keys(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def schema() -> dict:
    """The JSON Schema of the topology file format, for editors: every key described (the texts
    live in `descriptions.py`, shared with docs/format.md); `expect` left out."""
    from dpmsmt.io.descriptions import describe

    out = TopologyDoc.model_json_schema(by_alias=True)
    out["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    out["title"] = "dpmsmt topology file, version 1"
    return describe(out)


# -- the fast validator ----------------------------------------------------------------------------
#
# Validating into model instances is half of pydantic's time on a large estate (200k data source
# instances). The loader first validates with a mirror of the models made of TypedDicts: the same
# field types, validators, constraints and config, derived from the models here so that the two
# cannot drift apart, which gives plain dicts holding the keys the file gives (defaults are left
# to `defaults`). Only when that fails does the loader validate with the models, whose errors are
# the ones reported.


class Mirror:
    """The TypedDict mirror of `TopologyDoc`, compiled on first use: compiling takes about 50 ms,
    which a read pays once per process and `dpmsmt schema` never."""

    def __init__(self) -> None:
        self._adapter: TypeAdapter | None = None

    def validate_python(self, data: Any) -> dict:
        """What `TopologyDoc` accepts, validated into plain dicts; raises `ValidationError`."""
        if self._adapter is None:
            self._adapter = TypeAdapter(_mirror(TopologyDoc, {}))
        return self._adapter.validate_python(data)


MIRROR = Mirror()  # the one the loader validates with


def _defaults(model: type[BaseModel]) -> dict[str, Any]:
    return {
        f.alias or name: f.default for name, f in model.model_fields.items() if not f.is_required()
    }


# Key (alias) -> default of the optional fields, per model (read once per data source: a table).
_DEFAULTS = {
    model: _defaults(model)
    for model in (
        PolicyDoc,
        FailureDoc,
        DatabaseDoc,
        InactiveDoc,
        DpmServerDoc,
        DataSourceDoc,
        ServerDoc,
        TapeLibraryDoc,
        WaiverDoc,
        TopologyDoc,
    )
}


def defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Key (alias) -> default of the optional fields of a model (a shared table: do not change)."""
    return _DEFAULTS[model]


def _mirror(tp: Any, done: dict) -> Any:
    """`tp` with every model in it replaced by its TypedDict mirror."""
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        if tp not in done:
            fields = {}
            for name, f in tp.model_fields.items():
                ann = f.annotation
                if f.metadata:
                    ann = Annotated[(ann, *f.metadata)]
                ann = _mirror(ann, done)
                fields[f.alias or name] = (
                    ann if f.is_required() else typing_extensions.NotRequired[ann]
                )
            td = typing_extensions.TypedDict(f"{tp.__name__}Dict", fields)  # type: ignore[operator]
            td.__pydantic_config__ = ConfigDict(  # type: ignore[attr-defined]
                extra=tp.model_config.get("extra"), strict=tp.model_config.get("strict")
            )
            done[tp] = td
        return done[tp]
    origin = typing.get_origin(tp)
    if origin is None:
        return tp
    args = typing.get_args(tp)
    if origin is Annotated:
        return Annotated[(_mirror(args[0], done), *tp.__metadata__)]
    if origin is Literal:
        return tp
    mirrored = tuple(_mirror(a, done) for a in args)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[mirrored]  # noqa: UP007
    return origin[mirrored] if len(mirrored) > 1 else origin[mirrored[0]]
