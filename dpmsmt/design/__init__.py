"""design: choose a secondary for every up DPM server that has none (cli.md, `dpmsmt design`).

Which DPM servers need one: every up DPM server that is the primary of some data source and has
no secondary, or exactly those named with `--for`. Each of them gets a secondary among the up DPM
servers of the file, or among at most `allow_new` new servers (`NEW-DPM-k`, of the version of
the server they protect); the new secondary also protects the server's replicas.

The parts: `candidates` (each edge grounded through the rule catalogue, as `check` reads it),
`encoding` (the choices and what ties them together in Z3), `chains` (chain length bounds),
`search` (the lexicographic minimum and the next designs), `decode` (a design, proved by
`check`), `explain` (the rules that block a server), `costs` (`measure`, for the tests too).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

from dpmsmt.check import check
from dpmsmt.design.candidates import Candidates
from dpmsmt.design.costs import measure
from dpmsmt.design.encoding import Encoding
from dpmsmt.design.problem import CAPACITY, CYCLE, Question
from dpmsmt.design.result import CRITERIA, Design, DesignError, DesignResult
from dpmsmt.design.search import Search
from dpmsmt.findings import Severity
from dpmsmt.model import PROFILES, Topology, canon

__all__ = ["CRITERIA", "Design", "DesignError", "DesignResult", "design", "measure", "needs"]


def design(
    topology: Topology,
    *,
    for_: Iterable[str] = (),
    allow_new: int = 0,
    allow_cycles: bool = False,
    top: int = 3,
    profile: str | None = None,
    timeout: float | None = 60.0,
) -> DesignResult:
    """Choose secondaries so that the estate passes `check` (cli.md, `dpmsmt design`).

    `for_`: the DPM servers to find a secondary for (default: `needs`); `allow_new`: how many
    new DPM servers (`NEW-DPM-k`) the design may install; `allow_cycles`: accept cycles of more
    than two servers (CYCLE-TWO-ONLY findings); `top`: how many designs, best first, differing
    in at least one action.

    Raises DesignError for an unknown or down `--for` server or a bad option, SolverGaveUp when
    Z3 answered `unknown` (or `timeout` passed) before any design was found.
    """
    _validate(allow_new=allow_new, top=top, profile=profile, timeout=timeout)
    profile = profile or topology.profile
    deadline = time.monotonic() + timeout if timeout is not None else None
    wanted = needs(topology, for_)
    hard = set(CAPACITY) | (set() if allow_cycles else {CYCLE})
    report = check(topology, profile=profile, timeout=timeout)
    blocking = [f for f in report.findings if f.severity is Severity.ERROR or f.rule in hard]
    pre = frozenset(f.fingerprint for f in blocking)
    pre_ds = frozenset(
        (f.rule, f.entities["datasource"]) for f in blocking if "datasource" in f.entities
    )
    result = DesignResult(
        file=topology.file,
        profile=profile,
        needs=tuple(wanted),
        allow_new=allow_new,
        allow_cycles=allow_cycles,
        preexisting=tuple(sorted(pre)),
        designs=(),
    )
    if not wanted:  # nothing to design: the best design is to change nothing
        empty = Design(
            rank=1,
            complete=True,
            cost=dict.fromkeys(CRITERIA, 0),
            actions=(),
            final_state=topology,
        )
        return replace(result, designs=(empty,))
    q = Question(topology, profile, tuple(wanted), allow_new, allow_cycles, pre, pre_ds, deadline)
    designs, optimal = Search(Encoding(Candidates(q))).solve(top)
    return replace(result, designs=tuple(designs), optimal=optimal)


def _validate(*, allow_new: int, top: int, profile: str | None, timeout: float | None) -> None:
    if top < 1:
        raise DesignError("--top: at least 1")
    if allow_new < 0:
        raise DesignError("--allow-new: at least 0")
    if timeout is not None and timeout <= 0:
        raise DesignError("--timeout: must be positive")
    if profile is not None and profile not in PROFILES:
        raise DesignError(f"--profile: unknown profile {profile!r} (one of {', '.join(PROFILES)})")


def needs(topology: Topology, for_: Iterable[str] = ()) -> list[str]:
    """The DPM servers to design for, sorted by name: those named (each an up DPM server of the
    file), or every up DPM server that is the primary of a data source and has no secondary."""
    named = list(for_)
    if named:
        return _named(topology, named)
    primaries = {ds.primary for ds in topology.datasources() if ds.primary is not None}
    return sorted(
        (
            n
            for n, d in topology.dpm_servers.items()
            if d.up and n in primaries and not topology.protectors[n]
        ),
        key=canon,
    )


def _named(topology: Topology, named: list[str]) -> list[str]:
    index = {canon(n): n for n in topology.dpm_servers}
    out = []
    for n in named:
        name = index.get(canon(n))
        if name is None:
            raise DesignError(f"--for {n}: not a DPM server of {topology.file}")
        status = topology.dpm_servers[name].status
        if status != "up":
            raise DesignError(
                f"--for {n}: {name} is {status}; design gives up DPM servers a secondary "
                "(see suggest-move for failed ones)"
            )
        out.append(name)
    return sorted(set(out), key=canon)
