"""The failure a recovery plan answers: which DPM servers failed or were removed, the estate at
the failure, and the estate before it (where `preexisting` errors are looked for)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from dpmsmt.findings import UsageError
from dpmsmt.model import Failure as DpmFailure
from dpmsmt.model import Topology, canon

__all__ = ["Failure", "failure_of", "resolve"]


@dataclass
class Failure:
    """The estate before the failure (`before`), at the failure (`state`), and what failed."""

    before: Topology
    state: Topology
    failed: tuple[str, ...]
    removed: tuple[str, ...]


def resolve(topology: Topology, names: Iterable[str], what: str) -> list[str]:
    """The DPM servers `names` (case-insensitively) as the file spells them; a name that is none
    is a usage error of option `--what`."""
    index = {canon(n): n for n in topology.dpm_servers}
    out = []
    for n in names:
        if canon(n) not in index:
            raise UsageError(f"--{what} {n}: not a DPM server of {topology.file}")
        out.append(index[canon(n)])
    return out


def failure_of(topology: Topology, failed: Iterable[str], removed: Iterable[str]) -> Failure:
    """The estate at the failure of `failed` and the removal of `removed` (names as the user
    gave them), and before it (the same servers up)."""
    failed_l = resolve(topology, failed, "fail")
    removed_l = resolve(topology, removed, "remove")
    dpms = dict(topology.dpm_servers)
    for n in failed_l:
        if dpms[n].status == "up":
            dpms[n] = replace(
                dpms[n], status="failed", failure=dpms[n].failure or _default_failure()
            )
    for n in removed_l:
        dpms[n] = replace(dpms[n], status="removed", failure=None)
    state = replace(topology, dpm_servers=dpms)
    down_f = tuple(sorted((n for n, d in dpms.items() if d.status == "failed"), key=canon))
    down_r = tuple(sorted((n for n, d in dpms.items() if d.status == "removed"), key=canon))
    before = replace(
        topology,
        dpm_servers={
            n: (replace(d, status="up", failure=None) if n in down_f or n in down_r else d)
            for n, d in dpms.items()
        },
    )
    return Failure(before, state, down_f, down_r)


def _default_failure() -> DpmFailure:
    return DpmFailure()
