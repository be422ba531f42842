"""The overlay: what the administrator knows and no cmdlet tells, merged over every re-import.

An overlay is a partial topology (any subset of keys; names as in the estate, short names or
FQDNs). It is merged key by key: a mapping (`database`, `failure`, `policy`) key by key, any
other value replaced; data sources are matched by name. A name that nothing imported holds is an
error naming the overlay's line, so a typo never silently adds a server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dpmsmt.findings import LoadError, TopologyError
from dpmsmt.io.json_reader import read_json
from dpmsmt.io.limits import MAX_BYTES, ReadFailure
from dpmsmt.io.yaml_reader import read_yaml
from dpmsmt.model import canon, format_path

__all__ = ["Overlay", "apply_overlay", "read_overlay"]

_TOP = (
    "dpmsmt",
    "profile",
    "name",
    "description",
    "dpm_servers",
    "servers",
    "tape_libraries",
    "waivers",
    "expect",
)
_NESTED = frozenset(("database", "failure", "policy", "secondary_policy"))


@dataclass
class Overlay:
    file: str
    data: dict[str, Any]
    locate: Any
    # imported document path -> overlay document path, for every value the overlay set
    placed: dict[tuple, tuple] = field(default_factory=dict)

    def error(self, path: tuple, message: str, *, key: bool = False) -> LoadError:
        pos = self.locate(path, key) or (1, 1)
        return LoadError(self.file, pos[0], pos[1], format_path(path), message)


def read_overlay(path: str | os.PathLike) -> Overlay:
    name = str(path)
    from dpmsmt.io.source import Unreadable, read_bytes

    try:  # regular files only (a FIFO would block), at most 64 MiB
        raw = read_bytes(name, "overlay")
        text = raw.decode("utf-8-sig")
    except Unreadable as e:
        raise TopologyError([LoadError(name, 0, 0, "<root>", str(e))]) from None
    except UnicodeDecodeError:
        raise TopologyError(
            [LoadError(name, 1, 1, "<root>", "the overlay is not valid UTF-8")]
        ) from None
    if len(raw) > MAX_BYTES:
        raise TopologyError([LoadError(name, 1, 1, "<root>", "the overlay is larger than 64 MiB")])
    reader = read_json if Path(name).suffix.lower() == ".json" else read_yaml
    try:
        data, locate = reader(text)
    except ReadFailure as f:
        raise f.error(name) from None
    if data is None:
        data = {}
    overlay = Overlay(name, data, locate)
    if not isinstance(data, dict):
        raise TopologyError([overlay.error((), "an overlay is a mapping (a partial topology)")])
    return overlay


def apply_overlay(doc: dict[str, Any], comments: dict[tuple, str], overlay: Overlay) -> None:
    """Merge the overlay into the imported document, in place; the comments of what it sets
    say so (no longer `guessed`)."""
    _Apply(doc, comments, overlay).run()


class _Apply:
    def __init__(self, doc: dict, comments: dict, overlay: Overlay):
        self.doc, self.comments, self.overlay = doc, comments, overlay

    def fail(self, path: tuple, message: str, *, key: bool = False):
        raise TopologyError([self.overlay.error(path, message, key=key)])

    def mapping(self, value: Any, path: tuple) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"`{format_path(path)}` is a mapping in an overlay")
        return value

    def run(self) -> None:
        data = self.overlay.data
        for key, value in data.items():
            if key not in _TOP:
                self.fail((key,), f"unknown key `{key}` (an overlay holds topology keys)", key=True)
            if key == "dpmsmt":
                if value != 1:
                    self.fail((key,), "`dpmsmt` is 1 (the topology format's version)")
            elif key == "dpm_servers":
                self.named(value, "dpm_servers", "DPM server", self.dpm_server)
            elif key == "servers":
                self.named(value, "servers", "protected server", self.server)
            elif key == "tape_libraries":
                self.named(value, "tape_libraries", "tape library", lambda *a: None)
            elif key == "waivers":
                if not isinstance(value, list):
                    self.fail((key,), "`waivers` is a list")
                have = self.doc.setdefault("waivers", [])
                for i, w in enumerate(value):
                    self.placed(("waivers", len(have)), ("waivers", i))
                    have.append(w)
            else:
                self.set((key,), (key,), self.doc, key, value)

    def placed(self, imported: tuple, given: tuple) -> None:
        self.overlay.placed[imported] = given

    def set(self, imported: tuple, given: tuple, target: dict, key: str, value: Any) -> None:
        target[key] = value
        self.placed(imported, given)
        self.comments[imported] = "from the overlay"

    def named(self, value: Any, section: str, what: str, merge_one) -> None:
        given = self.mapping(value, (section,))
        have = self.doc.get(section) or {}
        by_key = {_key(n): n for n in have}
        for name, body in given.items():
            found = by_key.get(_key(str(name)))
            if found is None:
                self.fail(
                    (section, name),
                    f"the overlay names {what} {name}, which no export holds",
                    key=True,
                )
            merge_one(found, body, (section, name))

    def dpm_server(self, name: str, body: Any, given: tuple) -> None:
        target = self.doc["dpm_servers"][name]
        for key, value in self.mapping(body, given).items():
            imported = ("dpm_servers", name, key)
            if key in _NESTED and isinstance(value, dict):
                inner = target.setdefault(key, {})
                if not isinstance(inner, dict):  # pragma: no cover - the merge writes mappings
                    inner = target[key] = {}
                for k, v in value.items():
                    inner[k] = v
                    self.placed((*imported, k), (*given, key, k))
                self.comments[imported] = "from the overlay"
            else:
                self.set(imported, (*given, key), target, key, value)

    def server(self, name: str, body: Any, given: tuple) -> None:
        target = self.doc["servers"][name]
        for key, value in self.mapping(body, given).items():
            imported = ("servers", name, key)
            if key == "datasources":
                self.datasources(name, target.get("datasources") or [], value, (*given, key))
            else:
                self.set(imported, (*given, key), target, key, value)

    def datasources(self, server: str, have: list[dict], value: Any, given: tuple) -> None:
        if not isinstance(value, list):
            self.fail(given, "`datasources` is a list of data sources, matched by `name`")
        index = {canon(str(ds["name"])): i for i, ds in enumerate(have)}
        for j, body in enumerate(value):
            here = (*given, j)
            if not isinstance(body, dict) or not isinstance(body.get("name"), str):
                self.fail(here, "an overlay data source is a mapping with its `name`")
            i = index.get(canon(body["name"]))
            if i is None:
                self.fail(
                    (*here, "name"),
                    f"the overlay names data source {server}/{body['name']}, which no export holds",
                )
            target = have[i]
            changed = []
            for key, v in body.items():
                if key == "name":
                    continue
                if key in _NESTED and isinstance(v, dict) and isinstance(target.get(key), dict):
                    target[key] = {**target[key], **v}
                else:
                    target[key] = v
                self.placed(("servers", server, "datasources", i, key), (*here, key))
                changed.append(key)
            if changed:
                target["_comment"] = "overlay: " + ", ".join(changed)


def _key(name: str) -> str:
    short = name.strip().partition(".")[0]
    return canon(short if not short.isdigit() else name)
