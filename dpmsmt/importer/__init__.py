"""`dpmsmt import`: the JSON exports of Export-DpmTopology.ps1 -> one topology file.

    topology, text, report = import_exports(["dpm1.json", "dpm2.json"], overlay="site.yaml")

`text` is the topology YAML (a header naming the exports, a `# guessed` comment on every
default no export could confirm), `topology` is what the loader builds from it (the same as
`check` will read from the written file), `report` says what was merged and where the exports
disagree. Bad input raises `TopologyError` (file, line, column, path), before anything is written.

The package: `exportfile` reads and checks one export (and holds the list of properties the
PowerShell script reads), `merge` joins the exports into a topology document, `overlay` merges
the administrator's overlay over it, `writer` turns it into commented YAML, `schema` is the
export's JSON Schema.
"""

from __future__ import annotations

import gc
import json
import os
from dataclasses import dataclass

from dpmsmt.findings import LoadError, TopologyError
from dpmsmt.importer.exportfile import Export, read_export
from dpmsmt.importer.merge import Disagreement, merge
from dpmsmt.importer.overlay import Overlay, apply_overlay, read_overlay
from dpmsmt.importer.writer import render
from dpmsmt.model import PROFILES, Topology, format_path

__all__ = ["Disagreement", "ImportReport", "import_exports"]


@dataclass(frozen=True)
class ImportReport:
    """What an import read and found: the exports (file, server, time), the values it had to
    guess (document paths), warnings, and disagreements between exports (each naming two files)."""

    exports: tuple[tuple[str, str, str | None], ...]
    overlay: str | None
    guessed: tuple[str, ...]
    warnings: tuple[str, ...]
    disagreements: tuple[Disagreement, ...]

    def to_json(self) -> dict:
        return {
            "exports": [{"file": f, "dpm_server": s, "exportedAt": t} for f, s, t in self.exports],
            "overlay": self.overlay,
            "guessed": list(self.guessed),
            "warnings": list(self.warnings),
            "disagreements": [d.to_json() for d in self.disagreements],
        }


def import_exports(
    paths: list[str | os.PathLike],
    overlay: str | os.PathLike | None = None,
    *,
    profile: str | None = None,
    file: str = "<import>",
    read_back: bool = False,
) -> tuple[Topology, str, ImportReport]:
    """Merge the exports (and the overlay) into a topology; see the module docstring.

    The topology is built by the loader from the document the text holds (as JSON: the YAML
    reader would take twice as long on a large estate); with `read_back`, from the text itself,
    as `dpmsmt import` does before it writes. Tests check that both give the same topology.
    """
    if not paths:
        raise ValueError("import_exports needs at least one export")
    if profile is not None and profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    # Like the loader: merging makes millions of objects and no garbage cycles, and the cyclic
    # collector's passes over the growing heap would cost as much as the work itself.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _import(paths, overlay, profile, file, read_back)
    finally:
        if enabled:
            gc.enable()


def _import(paths, overlay, profile, file, read_back) -> tuple[Topology, str, ImportReport]:
    from dpmsmt.io.loader import loads

    exports = [read_export(p) for p in paths]
    layer = read_overlay(overlay) if overlay is not None else None
    merged = merge(exports)
    if layer is not None:
        apply_overlay(merged.doc, merged.comments, layer)
    if profile is not None:
        merged.doc["profile"] = profile
        merged.comments[("profile",)] = "from --profile"
    text = render(merged.doc, merged.comments, _header(exports, layer))
    try:
        if read_back:
            topology = loads(text, file=file)
        else:
            topology = loads(json.dumps(_public(merged.doc)), format="json", file=file)
    except TopologyError as e:
        raise _blame_overlay(e, layer) from None
    guessed = tuple(
        format_path(p)
        for p, c in sorted(_all_comments(merged).items(), key=lambda t: str(t[0]))
        if c.startswith("guessed")
    )
    report = ImportReport(
        exports=tuple(sorted((e.file, e.computer, e.data.get("exportedAt")) for e in exports)),
        overlay=None if layer is None else layer.file,
        guessed=guessed,
        warnings=tuple(merged.warnings),
        disagreements=tuple(merged.disagreements),
    )
    return topology, text, report


def _public(value):
    """The document without the merge's private keys (`_comment`)."""
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items() if not k.startswith("_")}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


def _all_comments(merged) -> dict[tuple, str]:
    """The writer's comments, those on data source lines included."""
    out = dict(merged.comments)
    for name, server in (merged.doc.get("servers") or {}).items():
        for i, ds in enumerate(server.get("datasources") or []):
            if ds.get("_comment"):
                out.setdefault(("servers", name, "datasources", i), ds["_comment"])
    return out


def _header(exports: list[Export], overlay: Overlay | None) -> list[str]:
    out = [f"Imported by `dpmsmt import` from {len(exports)} export(s) of Export-DpmTopology.ps1:"]
    for e in sorted(exports, key=lambda e: (e.computer.casefold(), e.file)):
        when = e.data.get("exportedAt") or "no time"
        out.append(f"  {e.computer}: {os.path.basename(e.file)} ({when})")
    if overlay is not None:
        out.append(
            f"Overlay: {os.path.basename(overlay.file)} (its values win; re-import keeps them)"
        )
    out.append("A `# guessed` value is a default no export could confirm: set it in the overlay.")
    out.append("Guessed for every data source: dedup: false, hyperv_scale_out: false.")
    out.append("")
    return out


def _blame_overlay(error: TopologyError, overlay: Overlay | None) -> TopologyError:
    """A value the loader refuses came from the overlay (the import writes only valid values):
    point at the overlay's line, not at the text it was merged into."""
    if overlay is None:
        return error
    first = error.first
    for imported, given in overlay.placed.items():
        where = format_path(imported)
        if first.path == where or first.path.startswith((where + ".", where + "[")):
            pos = overlay.locate(given, False) or (1, 1)
            return TopologyError(
                [LoadError(overlay.file, pos[0], pos[1], format_path(given), first.message)]
            )
    return error
