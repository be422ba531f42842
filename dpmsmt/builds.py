"""The table of DPM and MABS builds (`dpmsmt/data/builds.csv`): builds named as people say them.

Why a table: a version in a topology file is a build number (`10.19.260.0`), but people say "DPM
2019 UR1"; findings and plans name both, and a build that no release has (a typo) is worth an
info finding (BUILD-KNOWN) instead of being silently compared. The rows come from Microsoft's
build lists and release notes (`BUILD_SOURCES`); a build not listed there is not in the table.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cached_property
from importlib import resources

__all__ = ["BUILD_SOURCES", "Build", "builds", "describe", "find", "table_lines"]

BUILD_SOURCES: dict[str, dict[str, str]] = {
    "B1": {
        "title": "System Center - Data Protection Manager build versions",
        "url": "https://learn.microsoft.com/en-us/system-center/dpm/release-build-versions",
    },
    "B2": {
        "title": "DPM agent installation fails with error 319 (KB 2981833: DPM versions for firewall rules)",
        "url": "https://learn.microsoft.com/en-us/troubleshoot/system-center/dpm/agent-installation-error-319",
    },
    "B3": {
        "title": "Configure Azure Backup reports (MABS version 13.0.415.0 and above)",
        "url": "https://github.com/MicrosoftDocs/azure-docs (articles/backup, Azure Backup reports)",
    },
    "B4": {
        "title": "Private endpoints for Azure Backup (MABS v4, 14.0.30.0, or later)",
        "url": "https://github.com/MicrosoftDocs/azure-docs (articles/backup, private endpoints v2)",
    },
    "B5": {
        "title": "MABS V4 Update Rollup 1 (KB 5032421); build number as given in dpmsmt issue 14, not confirmed in a Microsoft document",
        "url": "https://support.microsoft.com/help/5032421",
    },
}


@dataclass(frozen=True, slots=True)
class Build:
    kind: str  # dpm | mabs (as `kind` in a topology file)
    release: str  # "DPM 2019", "MABS v4"
    rollup: str  # "RTM", "UR2", "UR2 refresh"
    build: str  # "10.19.379.0"
    date: str  # "2020-08" where the source gives one, else ""
    source: str  # a key of BUILD_SOURCES

    @property
    def name(self) -> str:
        """As people say it: `DPM 2019 UR2`."""
        return f"{self.release} {self.rollup}"

    @property
    def fields(self) -> tuple[int, ...]:
        return tuple(int(p) for p in self.build.split("."))


class _Table:
    """`data/builds.csv`, read on first use (most commands never name a build) and then kept:
    the file ships with the package and does not change while it runs."""

    @cached_property
    def rows(self) -> tuple[Build, ...]:
        text = resources.files("dpmsmt.data").joinpath("builds.csv").read_text(encoding="utf-8")
        return tuple(Build(**row) for row in csv.DictReader(text.splitlines()))


TABLE = _Table()


def builds() -> tuple[Build, ...]:
    """Every build of the table, in file order (release, then update rollup)."""
    return TABLE.rows


def _numeric(version: str) -> tuple[int, ...] | None:
    parts = version.strip().split(".")
    if not all(p.isascii() and p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def find(version: str, kind: str | None = None) -> list[Build]:
    """The builds a version names, on the fields it gives (`10.19` names every DPM 2019 build);
    only builds of `kind` where given."""
    fields = _numeric(version)
    if fields is None or len(fields) > 4:
        return []
    return [
        b
        for b in builds()
        if (kind is None or b.kind == kind) and b.fields[: len(fields)] == fields
    ]


def describe(version: str, kind: str | None = None) -> str:
    """`DPM 2019 UR2 (10.19.379.0)` for a listed build, `DPM 2019 (10.19)` for a prefix of one
    release, the version alone otherwise (unknown builds are BUILD-KNOWN's business)."""
    found = find(version, kind)
    if len(found) == 1 and len(_numeric(version) or ()) >= 3:
        return f"{found[0].name} ({version})"
    releases = sorted({b.release for b in found})
    if len(releases) == 1:
        return f"{releases[0]} ({version})"
    return version


def product(version: str, kind: str | None = None) -> str:
    """The product and build as a step names what to install: `DPM 2019 UR1 (10.19.260.0)`, or
    `DPM 4.2.1092.0` for a build in no list."""
    named = describe(version, kind)
    return named if named != version else f"DPM {version}"


def table_lines() -> list[str]:
    """The table as text lines (for `dpmsmt rules VERSION-MATCH` and BUILD-KNOWN)."""
    out = []
    for b in builds():
        date = f", {b.date}" if b.date else ""
        out.append(f"{b.build:<14} {b.name} ({b.kind}{date}; {b.source})")
    for key, src in BUILD_SOURCES.items():
        out.append(f"{key}: {src['title']} {src['url']}")
    return out
