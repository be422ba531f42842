"""The DPM steps of a design's action: give y the secondary t (installing t first if new)."""

from __future__ import annotations

from collections.abc import Collection

from dpmsmt.actions import Action
from dpmsmt.builds import product

__all__ = ["secondary_action"]


def secondary_action(
    y: str, scope: Collection[str], t: str, replicas, version: str | None, *, first: bool
) -> Action:
    """`reassign-secondary` of y (no old secondary) to t, with what y's `secondary_scope` puts
    on t; `version` where t is a new server, installed by the first action that uses it."""
    steps = []
    if version is not None and first:
        steps.append(
            f"Install {product(version)} on a new server {t} (the build of {y}, on the OS of {y})"
        )
    steps.append(f"From {t}: install the DPM protection agent on {y} (no restart is needed)")
    what = []
    if "database" in scope:
        what.append("DPM database")
    folders = [f.capitalize() for f in ("config", "scripting") if f in scope]
    if folders:
        what.append(f"{' and '.join(folders)} folder{'s' if len(folders) > 1 else ''}")
    if replicas:
        what.append(f"replicas of {', '.join(replicas)}")
    if what:
        listed = ", ".join(what[:-1]) + (" and " if len(what) > 1 else "") + what[-1]
        steps.append(f"On {t}: add {y}'s {listed} to a protection group")
    if "database" in scope:
        steps.append(f"Make sure the SQL Server VSS Writer service runs on {y}'s SQL host")
    if replicas:
        steps.append(f"On {t}: run a consistency check on each new replica")
    return Action(
        "reassign-secondary",
        dpm=y,
        from_=None,
        to=t,
        datasources=tuple(replicas),
        steps=tuple(steps),
        version=version,
    )
