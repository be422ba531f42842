"""Recovery actions (rules.md, "Recovery actions") as data, and applying them to a topology.

An `Action` names what an administrator does (`switch`, `rebuild`, `switch-back`, `move`,
`new-dpm`, `reassign-secondary`), the DPM steps to do it and the data those steps are made from
(`dpmsmt.steps` makes them). `apply_actions` returns the topology
after the actions, without touching the original: it is how `suggest-move` builds the state after
each phase (which `check` then proves legal) and how `--apply` writes a plan's final state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from dpmsmt.model import (
    DataSource,
    DpmServer,
    InactiveReplica,
    ProtectedServer,
    Topology,
    evolve,
)

__all__ = ["ACTIONS", "Action", "apply_actions", "move_secondary", "reassigned_secondary"]

ACTIONS = ("switch", "switch-back", "rebuild", "move", "new-dpm", "reassign-secondary")


@dataclass(frozen=True)
class Action:
    """One step of a plan. Server actions name `server`, `from` and `to`; DPM actions `dpm`."""

    action: str
    server: str | None = None
    dpm: str | None = None
    from_: str | None = None
    to: str | None = None
    datasources: tuple[str, ...] = ()
    protection_groups: tuple[str, ...] = ()
    steps: tuple[str, ...] = field(default=(), compare=False)
    # what the steps are made of (`dpmsmt.steps`); none of it is in the JSON
    version: str | None = field(default=None, compare=False)  # the build to install
    secondary: str | None = field(default=None, compare=False)  # move: the failed primary's
    protector: str | None = field(default=None, compare=False)  # move: the target's up one
    restore_from: str | None = field(default=None, compare=False)  # rebuild: database backup
    reallocate_from: str | None = field(default=None, compare=False)  # rebuild: lost replicas
    scope: tuple[str, ...] | None = field(default=None, compare=False)  # design: what t protects
    install: bool = field(default=False, compare=False)  # design: t is installed here

    def sort_key(self) -> tuple:
        return (self.action, self.server or "", self.dpm or "", self.from_ or "", self.to or "")

    def to_json(self) -> dict:
        out: dict = {"action": self.action, "steps": list(self.steps)}
        if self.action in ("rebuild",):
            out["dpm"] = self.dpm
        elif self.action == "reassign-secondary":
            out.update({"dpm": self.dpm, "from": self.from_, "to": self.to})
        else:
            out.update(
                {
                    "server": self.server,
                    "from": self.from_,
                    "to": self.to,
                    "datasources": list(self.datasources),
                    "protection_groups": list(self.protection_groups),
                }
            )
        return out


def move_secondary(topology: Topology, target: str, ds: DataSource, protectors=None) -> str | None:
    """The secondary a data source gets when it moves to `target` (rules.md, `move`):
    `target`'s protector where it has exactly one, up, with `replicas` in the target's scope,
    and no rule forbids a secondary (dedup, scaled-out Hyper-V, VMware, a SharePoint farm's
    database, a replica policy it breaks)."""
    protectors = protectors if protectors is not None else topology.protectors
    return _move_secondary(topology.dpm_servers, protectors, target, ds)


def _move_secondary(dpms, protectors, target: str, ds: DataSource) -> str | None:
    protectors = protectors.get(target, ())
    if len(protectors) != 1 or ds.dedup or ds.hyperv_scale_out:
        return None
    if ds.type == "vmware" or ds.farm is not None:
        return None
    s = protectors[0]
    if not dpms[s].up or s == target:
        return None
    if "replicas" not in dpms[target].secondary_scope:
        return None
    sp = ds.secondary_policy
    if sp is not None and (
        sp.exclude_extensions
        or sp.short_term != "disk"
        or sp.long_term not in ("none", "tape")
        or (
            sp.long_term == "none"
            and (
                sp.sync_minutes not in (15, 30, 45, 60, 120, 240, 360, 720, 1440)
                or sp.sync_before_recovery_point
            )
        )
    ):
        return None
    return s


def reassigned_secondary(ds: DataSource, server_switched: bool, t: str) -> str | None:
    """The secondary a data source of y gets when t becomes y's secondary (rules.md,
    `reassign-secondary`): t, except where a rule forbids it any secondary (a deduplicated
    volume, scaled-out Hyper-V, a server in switched mode): such a replica cannot be protected
    on t, so it keeps none (and its old error does not come back naming t)."""
    if ds.dedup or ds.hyperv_scale_out or server_switched:
        return None
    return t


def apply_actions(topology: Topology, actions, protectors=None) -> Topology:
    """The topology after `actions`, in order (a new object; the input is not changed).
    `protectors`: the topology's, where the caller has them already."""
    dpms = dict(topology.dpm_servers)
    servers = dict(topology.servers)
    # who protects whom changes only with reassign-secondary
    protectors = topology.protectors if protectors is None else protectors
    for a in actions:
        if a.action == "rebuild":
            dpms[a.dpm] = evolve(dpms[a.dpm], status="up", failure=None)
        elif a.action == "reassign-secondary":
            if a.from_ is not None and a.from_ in dpms:
                old = dpms[a.from_]
                dpms[a.from_] = evolve(old, protects=tuple(y for y in old.protects if y != a.dpm))
            new = dpms[a.to]
            dpms[a.to] = evolve(new, protects=(*new.protects, a.dpm))
            protectors = replace(topology, dpm_servers=dpms).protectors
            for name, s in list(servers.items()):
                if any(ds.primary == a.dpm and ds.secondary == a.from_ for ds in s.datasources):
                    switched = any(ds.switched for ds in s.datasources)
                    servers[name] = evolve(
                        s,
                        datasources=tuple(
                            evolve(ds, secondary=reassigned_secondary(ds, switched, a.to))
                            if ds.primary == a.dpm and ds.secondary == a.from_ and ds.secondary
                            else ds
                            for ds in s.datasources
                        ),
                    )
        elif a.action == "new-dpm":
            if a.to not in dpms:
                dpms[a.to] = DpmServer(name=a.to, version=a.version or "0")
            servers[a.server], dpms = _move(dpms, protectors, servers[a.server], a)
        elif a.action == "move":
            servers[a.server], dpms = _move(dpms, protectors, servers[a.server], a)
        elif a.action == "switch":
            servers[a.server] = _switch(servers[a.server], a.from_, a.to)
        elif a.action == "switch-back":
            servers[a.server] = _switch_back(servers[a.server], a.from_, a.to)
        else:  # pragma: no cover
            raise ValueError(f"unknown action {a.action!r}")
    return replace(topology, dpm_servers=dpms, servers=servers, locate=None, expect=None)


def _agents(agents: tuple[str, ...], old: str, new: str) -> tuple[str, ...]:
    out = [new if a == old else a for a in agents]
    if new not in out:
        out.append(new)
    return tuple(dict.fromkeys(out))


def _retarget(
    server: ProtectedServer,
    old: str,
    new: str,
    selected: Callable[[DataSource], bool],
    **changes,
) -> ProtectedServer:
    """The server with its agent `old` replaced by `new`, and `changes` made to each of its data
    sources that `selected` picks."""
    return evolve(
        server,
        agents=_agents(server.agents, old, new),
        datasources=tuple(
            evolve(ds, **changes) if selected(ds) else ds for ds in server.datasources
        ),
    )


def _switch(server: ProtectedServer, p: str, s: str) -> ProtectedServer:
    """Start-DPMSwitchProtection on s for every data source of the server with primary p."""

    def picked(ds: DataSource) -> bool:
        return ds.primary == p and not ds.switched

    return _retarget(
        server, p, s, picked, primary=s, mode="switched", switched_from=p, secondary=None
    )


def _switch_back(server: ProtectedServer, s: str, p: str) -> ProtectedServer:
    """Take ownership on p again; s protects p's replicas as the secondary once more."""

    def picked(ds: DataSource) -> bool:
        return ds.primary == s and ds.switched and ds.switched_from == p

    return _retarget(
        server, s, p, picked, primary=p, mode="normal", switched_from=None, secondary=s
    )


def _move(dpms: dict, protectors, server: ProtectedServer, a: Action):
    """Move (or new-dpm): every data source with primary `from` gets primary `to`.

    The old secondary keeps the replica it held (an inactive data source on it).
    """
    p, n = a.from_, a.to
    moved = []
    for ds in server.datasources:
        if ds.primary == p:
            if ds.secondary is not None and ds.secondary in dpms and not ds.switched:
                old = dpms[ds.secondary]
                entry = InactiveReplica(ds.id, p)
                if entry not in old.inactive:
                    dpms[ds.secondary] = evolve(old, inactive=(*old.inactive, entry))
            moved.append(
                evolve(
                    ds,
                    primary=n,
                    mode="normal",
                    switched_from=None,
                    secondary=_move_secondary(dpms, protectors, n, ds),
                )
            )
        else:
            moved.append(ds)
    return evolve(server, agents=_agents(server.agents, p, n), datasources=tuple(moved)), dpms
