"""The DPM steps of a recovery or design action: the one home of their text.

Each builder makes an `Action` with the data its steps need (fields that do not take part in
equality or JSON) and its steps from that data, so the steps can be made again: `renamed`
gives the action with servers renamed and its steps rewritten (resilience numbers new DPM
servers as a joint solve does). The runbook (`dpmsmt.runbook`) turns actions into commands.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from dpmsmt.actions import Action
from dpmsmt.builds import product

__all__ = [
    "describe",
    "move_action",
    "protect_action",
    "reassign_action",
    "rebuild_action",
    "renamed",
    "run_order",
    "switch_action",
    "switch_back_action",
]


def switch_action(
    server: str, p: str, s: str, ids: tuple[str, ...], pgs: tuple[str, ...]
) -> Action:
    """Switch `server`'s data sources on failed p to its secondary s."""
    return _described(
        Action("switch", server=server, from_=p, to=s, datasources=ids, protection_groups=pgs)
    )


def switch_back_action(
    server: str, s: str, p: str, ids: tuple[str, ...], pgs: tuple[str, ...]
) -> Action:
    """Give `server`'s switched data sources back to p once it is rebuilt."""
    return _described(
        Action("switch-back", server=server, from_=s, to=p, datasources=ids, protection_groups=pgs)
    )


def rebuild_action(
    p: str, version: str, restore_from: str | None, reallocate_from: str | None
) -> Action:
    """Rebuild p on `version`; restore its database from `restore_from` (None: it survived) and
    re-create its replicas from `reallocate_from` (None: its storage survived)."""
    return _described(
        Action(
            "rebuild",
            dpm=p,
            version=version,
            restore_from=restore_from,
            reallocate_from=reallocate_from,
        )
    )


def move_action(
    server: str,
    p: str,
    n: str,
    ids: tuple[str, ...],
    pgs: tuple[str, ...],
    s: str | None,
    protector: str | None,
    version: str | None = None,
) -> Action:
    """Move `server`'s data sources on failed p (secondary s) to n, whose up protector is
    `protector`; with `version`, onto a new DPM server n of that version (new-dpm)."""
    return _described(
        Action(
            "new-dpm" if version is not None else "move",
            server=server,
            from_=p,
            to=n,
            datasources=ids,
            protection_groups=pgs,
            version=version,
            secondary=s,
            protector=protector,
        )
    )


def reassign_action(y: str, old: str | None, t: str) -> Action:
    """Make t the secondary of y in place of the failed or removed `old`."""
    return _described(Action("reassign-secondary", dpm=y, from_=old, to=t))


def protect_action(
    y: str,
    t: str,
    replicas: Iterable[str],
    version: str | None,
    scope: Iterable[str],
    *,
    first: bool,
) -> Action:
    """design: t becomes a secondary of y, protecting what `scope` names and `replicas`; with
    `version`, t is a new server of that build (installed at its `first` action)."""
    return _described(
        Action(
            "reassign-secondary",
            dpm=y,
            from_=None,
            to=t,
            datasources=tuple(replicas),
            version=version,
            scope=tuple(scope),
            install=first and version is not None,
        )
    )


def describe(a: Action) -> tuple[str, ...]:
    """The DPM steps of an action, from its data."""
    if a.action == "reassign-secondary":
        return _reassign(a) if a.scope is None else _protect(a)
    return _STEPS[a.action](a)


def renamed(a: Action, mapping: Mapping[str, str]) -> Action:
    """The action with DPM servers renamed by `mapping` and its steps made again."""

    def name(x: str | None) -> str | None:
        return mapping.get(x, x) if x is not None else None

    moved = replace(
        a,
        dpm=name(a.dpm),
        from_=name(a.from_),
        to=name(a.to),
        secondary=name(a.secondary),
        protector=name(a.protector),
    )
    return _described(moved)


def run_order(actions: Iterable[Action]) -> list[Action]:
    """The order an administrator runs them: rebuilds, switches and moves restore protection;
    then new secondaries (which re-protect the replicas the DPM servers hold by then)."""
    rank = {
        "rebuild": 0,
        "switch": 1,
        "move": 2,
        "new-dpm": 3,
        "reassign-secondary": 4,
        "switch-back": 5,
    }
    return sorted(actions, key=lambda a: (rank[a.action], a.sort_key()))


def _described(a: Action) -> Action:
    return replace(a, steps=describe(a))


def _switch(a: Action) -> tuple[str, ...]:
    server, s, ids = a.server, a.to, a.datasources
    groups = ", ".join(a.protection_groups) or "the protection groups that hold them"
    return (
        f"On {s} (the secondary): Start-DPMSwitchProtection -ProtectionGroup <{groups}> -Datasource <{', '.join(ids)}>",
        f"On {s}: accept ownership of {server}'s protection agent",
        f"On {s}: run a consistency check on each switched data source (replicas are inconsistent until then)",
        f"Leave {server} without secondary protection while it is switched",
    )


def _switch_back(a: Action) -> tuple[str, ...]:
    server, s, p = a.server, a.from_, a.to
    return (
        f"On {p}: answer the 'Agent Ownership Required' alert with Take Ownership for {server}",
        f"On {p}: modify the protection group to protect {server}'s data sources again",
        f"On {s}: modify the protection group to protect {p}'s replicas of them (secondary protection)",
        f"Run consistency checks on {p} and {s}",
    )


def _rebuild(a: Action) -> tuple[str, ...]:
    p = a.dpm
    steps = [f"Install {product(a.version)} on a server named {p} (same name, same build)"]
    if a.restore_from is not None:
        steps.append(f"DpmSync -RestoreDb -DbLoc <backup of {p}'s database from {a.restore_from}>")
    steps.append("DpmSync -Sync")
    if a.reallocate_from is not None:
        steps.append(
            f"DpmSync -ReallocateReplica, then re-create the replicas from {a.reallocate_from} (Restore to replica)"
        )
    steps.append(f"On each computer {p} protects: SetDpmServer.exe -dpmServerName {p}")
    steps.append("Run a consistency check on every data source")
    return tuple(steps)


def _move(a: Action) -> tuple[str, ...]:
    server, p, n, s = a.server, a.from_, a.to, a.secondary
    new = a.version is not None
    steps = []
    if new:
        steps.append(
            f"Install a new DPM server {n} ({product(a.version)})"
            + (f" that {s} does not know about" if s else "")
        )
    steps.append(
        f"On {server}: SetDpmServer.exe -dpmServerName {n} (or install the agent from {n})"
    )
    steps.append(
        f"On {n}: add {server}'s data sources to a protection group and run the initial replication"
    )
    if a.protector and not new:
        steps.append(
            f"On {a.protector}: add {n}'s replicas of them to its secondary protection group"
        )
    steps.append(f"The old recovery points stay on {p}" + (f" and {s}" if s else ""))
    return tuple(steps)


def _reassign(a: Action) -> tuple[str, ...]:
    y, t = a.dpm, a.to
    return (
        f"On {y}: install the protection agent of {t} (no restart is needed)",
        f"On {t}: create a protection group for {y}'s databases, Config and Scripting folders and replicas",
        f"Start the SQL Server VSS Writer on {y} if it is stopped",
        f"Back {y}'s DPM database up to {t}",
    )


def _protect(a: Action) -> tuple[str, ...]:
    y, t, replicas, scope = a.dpm, a.to, a.datasources, a.scope or ()
    steps = []
    if a.install:
        steps.append(
            f"Install {product(a.version)} on a new server {t} (the build of {y}, on the OS of {y})"
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
    return tuple(steps)


_STEPS = {
    "switch": _switch,
    "switch-back": _switch_back,
    "rebuild": _rebuild,
    "move": _move,
    "new-dpm": _move,
}
