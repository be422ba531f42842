"""A plan as a runbook: which DPM commands carry out each action, on which computer, in order.

This module is the one home of the runbook's step text (`render/ps1.py` only lays it out as a
PowerShell script). Each kind of step is a `StepKind`: what it does, the command it runs (or,
where no command exists, the manual instructions it pauses for) and the Microsoft page that
documents the command. The PowerShell of a command step is fixed text that reads its values from
one hashtable argument (`$A`): no name from the topology is ever part of code, so a server named
`x';Remove-Item C:\\ -Recurse;'` can only reach the script as a quoted value.

A `Runbook` is plain data: the plan's header (rank, costs, what it loses) and its phases, each a
list of actions, each a list of `Step`s with the names filled in. `docs/runbook.md` is generated
from `STEP_KINDS` by `reference_markdown()` (a test keeps the two equal).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from dpmsmt.actions import Action, apply_actions
from dpmsmt.builds import product
from dpmsmt.model import Failure, Topology, canon, evolve

__all__ = [
    "COMMANDS",
    "STEP_KINDS",
    "Runbook",
    "RunbookAction",
    "RunbookPhase",
    "Step",
    "StepKind",
    "build_runbook",
    "reference_markdown",
]

# Microsoft's pages for the commands the steps run (research.md S4, S5, S7, S20).
LEARN = "https://learn.microsoft.com/en-us/powershell/module/dataprotectionmanager/"
SRC_SWITCH = LEARN + "start-dpmswitchprotection"
SRC_CONSISTENCY = LEARN + "start-dpmdatasourceconsistencycheck"
SRC_GET_DATASOURCE = LEARN + "get-dpmdatasource"
SRC_PROTECTION_GROUP = LEARN + "get-dpmmodifiableprotectiongroup"
SRC_BACKUP_DPM = "https://learn.microsoft.com/en-us/system-center/dpm/back-up-the-dpm-server"
SRC_AGENT = "https://learn.microsoft.com/en-us/system-center/dpm/deploy-dpm-protection-agent"
SRC_SQLWRITER = "https://learn.microsoft.com/en-us/powershell/module/microsoft.powershell.management/start-service"

# The data sources of one protected computer on one DPM server, found by the computer's short
# name and the data source names (Get-DPMProtectionGroup, Get-DPMDatasource -ProtectionGroup).
# The step stops when it does not find exactly the expected ones: it never acts on a guess.
_FIND = """\
$short = ($A.Computer -split '\\.')[0]
$found = @(foreach ($pg in @(Get-DPMProtectionGroup -DPMServerName $A.Dpm)) {
    foreach ($ds in @(Get-DPMDatasource -ProtectionGroup $pg)) {
        $computer = if ($ds.PSObject.Properties['Computer']) { $ds.Computer } else { $ds.ProductionServerName }
        if ((([string]$computer) -split '\\.')[0] -eq $short -and $A.Names -contains $ds.Name) {
            [pscustomobject]@{ PG = $pg; DS = $ds }
        }
    }
})
if ($found.Count -ne @($A.Names).Count) {
    throw ('found {0} of the {1} data sources on {2}' -f $found.Count, @($A.Names).Count, $A.Dpm)
}
"""

_FOUND_BY = (
    "Data sources are found by the protected computer's short name (the `Computer` or "
    "`ProductionServerName` property of what Get-DPMDatasource returns) and their `Name`: "
    "property names seen in Microsoft's samples and in public scripts, not in a reference page. "
    "If it does not find exactly the expected data sources, the step "
    "stops the runbook."
)

_NATIVE_CHECK = (
    "if ($LASTEXITCODE -ne 0) {{ throw ('{what} failed with exit code {{0}}' -f $LASTEXITCODE) }}\n"
)


@dataclass(frozen=True)
class StepKind:
    """One kind of runbook step: a command with its fixed PowerShell, or a manual pause."""

    key: str
    title: str
    manual: bool
    command: str  # what the step runs, as shown by a dry run ("" for a manual step)
    source: str  # the Microsoft page that documents it
    doc: str  # what it does and why (docs/runbook.md)
    script: str = ""  # PowerShell; reads only $A (never a name as code)
    needs_dbloc: bool = False  # asks for the database backup path (-DbLoc) when run
    note: bool = False  # a reminder: shown, no pause, nothing runs


def _kinds(*kinds: StepKind) -> dict[str, StepKind]:
    return {k.key: k for k in kinds}


STEP_KINDS: dict[str, StepKind] = _kinds(
    StepKind(
        "switch-protection",
        "Switch protection to the secondary",
        manual=False,
        command="Start-DPMSwitchProtection -ProtectionGroup <each group> -Datasource <its data sources>",
        source=SRC_SWITCH,
        doc="Runs on the secondary DPM server: finds the protected computer's data sources in its "
        "protection groups and switches their protection to it, one call per protection group. "
        "The replicas are inconsistent until the consistency check that follows. " + _FOUND_BY,
        script=_FIND
        + """\
foreach ($group in @($found | Group-Object -Property { $_.PG.FriendlyName })) {
    $items = @($group.Group)
    Start-DPMSwitchProtection -ProtectionGroup $items[0].PG -Datasource @($items | ForEach-Object { $_.DS })
}
""",
    ),
    StepKind(
        "consistency-check",
        "Consistency check of the data sources",
        manual=False,
        command="Start-DPMDatasourceConsistencyCheck -Datasource <each data source>",
        source=SRC_CONSISTENCY,
        doc="Runs on the DPM server that now holds the data sources (or their replicas) and starts "
        "a consistency check on each: after a switch, a switch back or a new secondary the "
        "replicas are inconsistent until it runs. " + _FOUND_BY,
        script=_FIND
        + """\
foreach ($item in $found) {
    Start-DPMDatasourceConsistencyCheck -Datasource $item.DS
}
""",
    ),
    StepKind(
        "consistency-check-all",
        "Consistency check of every data source",
        manual=False,
        command="Start-DPMDatasourceConsistencyCheck -ProtectionGroup <each protection group>",
        source=SRC_CONSISTENCY,
        doc="Runs on a rebuilt DPM server: starts a consistency check on the inconsistent data "
        "sources of every protection group. After `DpmSync -Sync` every data source needs one "
        "before normal protection resumes.",
        script="""\
foreach ($pg in @(Get-DPMProtectionGroup -DPMServerName $A.Dpm)) {
    Start-DPMDatasourceConsistencyCheck -ProtectionGroup $pg
}
""",
    ),
    StepKind(
        "dpmsync-restore",
        "Restore the DPM database",
        manual=False,
        command="DpmSync -RestoreDb -DbLoc <the backup given with -DbLoc, or asked for>",
        source=SRC_BACKUP_DPM,
        doc="Runs on the rebuilt DPM server: restores its DPM database (DPMDB) from the backup "
        "file recovered in the step before. The path comes from the runbook's `-DbLoc` "
        "hashtable (`@{ 'DPM1' = 'D:\\restore\\DPMDB.bak' }`) or is asked for when the step runs.",
        script="DpmSync -RestoreDb -DbLoc $A.DbLoc\n"
        + _NATIVE_CHECK.format(what="DpmSync -RestoreDb"),
        needs_dbloc=True,
    ),
    StepKind(
        "dpmsync-sync",
        "Synchronize the DPM database with the storage pool",
        manual=False,
        command="DpmSync -Sync",
        source=SRC_BACKUP_DPM,
        doc="Runs on the rebuilt DPM server, which must reach its storage pool: reconciles the "
        "restored database with the replicas, recovery points and jobs on disk.",
        script="DpmSync -Sync\n" + _NATIVE_CHECK.format(what="DpmSync -Sync"),
    ),
    StepKind(
        "dpmsync-reallocate",
        "Allocate new replica volumes",
        manual=False,
        command="DpmSync -ReallocateReplica",
        source=SRC_BACKUP_DPM,
        doc="Runs on a rebuilt DPM server whose storage pool was lost: allocates replica space "
        "again; the replicas are then marked for manual replica creation (next step).",
        script="DpmSync -ReallocateReplica\n"
        + _NATIVE_CHECK.format(what="DpmSync -ReallocateReplica"),
    ),
    StepKind(
        "set-dpm-server",
        "Point the protection agent at a DPM server",
        manual=False,
        command="SetDpmServer.exe -dpmServerName <DPM server>",
        source=SRC_BACKUP_DPM,
        doc="Runs on a protected computer: tells its protection agent which DPM server it works "
        "for (after a rebuild, the rebuilt server; after a move, the new one). SetDpmServer.exe "
        "is in the agent's `bin` folder under Program Files.",
        script="""\
$exe = @('Microsoft Data Protection Manager\\DPM\\bin\\SetDpmServer.exe', 'Microsoft Data Protection Manager\\bin\\SetDpmServer.exe') |
    ForEach-Object { Join-Path -Path $env:ProgramFiles -ChildPath $_ } |
    Where-Object { Test-Path -LiteralPath $_ } | Select-Object -First 1
if (-not $exe) { throw 'SetDpmServer.exe was not found under Program Files' }
& $exe -dpmServerName $A.Dpm
"""
        + _NATIVE_CHECK.format(what="SetDpmServer.exe"),
    ),
    StepKind(
        "start-sql-writer",
        "Start the SQL Server VSS Writer",
        manual=False,
        command="Set-Service -Name SQLWriter -StartupType Automatic; Start-Service -Name SQLWriter",
        source=SRC_SQLWRITER,
        doc="Runs on a DPM server whose database is on its own SQL instance: a secondary can "
        "protect the DPM database only while the SQL Server VSS Writer service runs "
        "(Back up the DPM server, S7).",
        script="""\
Set-Service -Name SQLWriter -StartupType Automatic
Start-Service -Name SQLWriter
""",
    ),
    StepKind(
        "start-sql-writer-remote",
        "Start the SQL Server VSS Writer on a remote SQL Server",
        manual=True,
        command="",
        source=SRC_SQLWRITER,
        doc="The same for a DPM database on a remote SQL Server, which the topology does not "
        "name: the runbook asks the administrator to start the SQLWriter service there.",
    ),
    StepKind(
        "reinstall",
        "Reinstall Windows and DPM with the same name",
        manual=True,
        command="",
        source=SRC_BACKUP_DPM,
        doc="No command exists: reinstall the failed server with the same computer name and the "
        "same DPM build (and update rollup) as its database backup, since DpmSync restores a "
        "database only into the build that wrote it.",
    ),
    StepKind(
        "recover-database-backup",
        "Recover the DPM database backup",
        manual=True,
        command="",
        source=SRC_BACKUP_DPM,
        doc="Copy the newest backup of the failed server's DPM database to a folder the rebuilt "
        "server can read: from its secondary (DPM console, Recovery, recover the database to a "
        "network folder), or from tape, Azure, a share or a native SQL backup, as the estate "
        "backs it up.",
    ),
    StepKind(
        "restore-database-remote-sql",
        "Restore a DPM database held on a remote SQL Server",
        manual=True,
        command="",
        source=SRC_BACKUP_DPM,
        doc="A DPM database on a remote SQL Server needs `DpmSync -RestoreDb -DbLoc <path> "
        "-InstanceName <server\\instance>`; the instance is not in the topology, so the runbook "
        "asks the administrator to run it.",
    ),
    StepKind(
        "recreate-replicas",
        "Re-create the replicas",
        manual=True,
        command="",
        source=SRC_BACKUP_DPM,
        doc="After `DpmSync -ReallocateReplica` the replicas wait for manual creation: restore "
        "each from the secondary (Restore to replica) or from tape.",
    ),
    StepKind(
        "accept-agent",
        "Accept the protection agent",
        manual=True,
        command="",
        source=SRC_SWITCH,
        doc="In the DPM console of the server that now protects the computer, answer the agent "
        "ownership alert so that the agent works for it.",
    ),
    StepKind(
        "take-ownership",
        "Take ownership of the protection agent",
        manual=True,
        command="",
        source=SRC_BACKUP_DPM,
        doc="Switching back: on the primary, answer the 'Agent Ownership Required' alert with "
        "Take Ownership. No cmdlet does this.",
    ),
    StepKind(
        "modify-protection-group",
        "Change a protection group",
        manual=True,
        command="",
        source=SRC_PROTECTION_GROUP,
        doc="Add data sources (or replicas, for secondary protection) to a protection group, in "
        "the console or with Get-DPMModifiableProtectionGroup, Add-DPMChildDatasource and "
        "Set-DPMProtectionGroup. The plan does not choose the group's policy, so the runbook "
        "pauses for the administrator.",
    ),
    StepKind(
        "install-dpm-server",
        "Install a new DPM server",
        manual=True,
        command="",
        source="https://learn.microsoft.com/en-us/system-center/dpm/plan-dpm-deployment",
        doc="Install Windows and DPM of the given build on a new server with the given name.",
    ),
    StepKind(
        "install-agent",
        "Install or attach a protection agent",
        manual=True,
        command="",
        source=SRC_AGENT,
        doc="Install the DPM protection agent on a computer from the DPM server that is to "
        "protect it (console: Management, Agents, Install), or attach an agent installed by "
        "hand. No restart is needed.",
    ),
    StepKind(
        "no-secondary",
        "No secondary protection while switched",
        manual=False,
        command="",
        source=SRC_SWITCH,
        doc="A reminder: a switched data source has no secondary protection until it is "
        "switched back.",
        note=True,
    ),
    StepKind(
        "old-recovery-points",
        "Old recovery points stay behind",
        manual=False,
        command="",
        source=SRC_BACKUP_DPM,
        doc="A reminder: after a move the new DPM server starts a new recovery-point chain; the "
        "old points stay on the old primary and its secondary.",
        note=True,
    ),
)

# Every command a runbook may run: the steps' commands and the runbook's own helpers. A name
# from the topology can never add to these (tests/render/test_ps1.py parses runbooks to check it).
COMMANDS = frozenset(
    {
        "DpmSync",
        "ForEach-Object",
        "Get-DPMDatasource",
        "Get-DPMProtectionGroup",
        "Group-Object",
        "Invoke-Command",
        "Join-Path",
        "Read-Host",
        "Select-Object",
        "Set-Service",
        "Start-DPMDatasourceConsistencyCheck",
        "Start-DPMSwitchProtection",
        "Start-Service",
        "Test-Path",
        "Where-Object",
        "Write-Host",
        "Confirm-RunbookStep",
        "Invoke-RunbookStep",
        "Test-RunbookLocal",
        "Write-RunbookAction",
        "Write-RunbookNote",
        "Write-RunbookPhase",
        "Write-RunbookHeader",
    }
)


@dataclass(frozen=True)
class Step:
    """One step with its names filled in: run `kind` on computer `on`, or pause there."""

    kind: StepKind
    on: str
    summary: str
    arguments: tuple[tuple[str, str | tuple[str, ...]], ...] = ()
    instructions: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunbookAction:
    """One action of the plan (`switch`, `rebuild`, ...) and the steps that carry it out."""

    action: str
    summary: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class RunbookPhase:
    key: str  # immediate | final | design
    title: str
    actions: tuple[RunbookAction, ...]


@dataclass(frozen=True)
class Runbook:
    """Everything the script says, as data: the header and the phases in the order to run."""

    command: str  # suggest-move | design
    file: str
    rank: int
    plans: int  # how many plans the command found
    complete: bool
    optimal: bool
    failed: tuple[str, ...]
    removed: tuple[str, ...]
    cost: tuple[tuple[str, int | str], ...]
    loses: tuple[tuple[str, tuple[str, ...]], ...]
    unprotected: tuple[str, ...]
    phases: tuple[RunbookPhase, ...]

    @property
    def steps(self) -> list[Step]:
        return [s for p in self.phases for a in p.actions for s in a.steps]


# -- building -----------------------------------------------------------------------------------


def build_runbook(
    plan,
    topology: Topology,
    *,
    command: str | None = None,
    plans: int = 1,
    failed: Sequence[str] = (),
    removed: Sequence[str] = (),
    optimal: bool = True,
) -> Runbook:
    """The runbook of a suggest-move `Plan` or a design `Design`, for the estate `topology` (the
    file as read; a failed server's `failure` defaults as suggest-move assumes it). `command`
    is `suggest-move` or `design`; by default, that of the plan's type."""
    if command is None:
        command = "design" if hasattr(plan, "new_servers") else "suggest-move"
    builder = _Builder(_at_failure(topology, failed, removed), plan)
    if command == "design":
        actions = builder.phase(plan.actions, (), apply=False)
        phases = [RunbookPhase("design", "give DPM servers a secondary", actions)]
        loses = (("no secondary", tuple(plan.unassigned)),) if plan.unassigned else ()
        unprotected: tuple[str, ...] = ()
    else:
        phases = [
            RunbookPhase("immediate", "restore protection now", builder.phase(plan.immediate, ())),
        ]
        if plan.final:
            final = builder.phase(plan.final, plan.immediate)
            phases.append(RunbookPhase("final", "after the failed servers are rebuilt", final))
        loses = tuple(
            (key.replace("_", " "), tuple(values)) for key, values in plan.loses.items() if values
        )
        unprotected = tuple(plan.unprotected)
    return Runbook(
        command=command,
        file=topology.file,
        rank=plan.rank,
        plans=plans,
        complete=plan.complete,
        optimal=optimal,
        failed=tuple(failed),
        removed=tuple(removed),
        cost=tuple((k, v) for k, v in plan.cost.items()),
        loses=loses,
        unprotected=unprotected,
        phases=tuple(phases),
    )


class _Builder:
    """Turns actions into steps; reads the estate for what the actions do not carry (failures,
    database backups, who protects whom, the data source names behind ids)."""

    def __init__(self, topology: Topology, plan) -> None:
        self.topology = topology
        self.plan = plan
        self.installed: set[str] = set()  # new DPM servers whose installation is a step already

    def phase(
        self, actions: Sequence[Action], before: Sequence[Action], *, apply: bool = True
    ) -> tuple[RunbookAction, ...]:
        """The steps of one phase; `start`/`end` are the estate before and after it (a design
        adds edges to servers that may not exist yet, and reads neither)."""
        start = apply_actions(self.topology, before) if before and apply else self.topology
        end = apply_actions(start, actions) if apply else start
        return tuple(self.action(a, start, end) for a in actions)

    def install_once(self, name: str) -> bool:
        """True the first time a new DPM server is named: its installation is one step."""
        first = name not in self.installed
        self.installed.add(name)
        return first

    def action(self, a: Action, start: Topology, end: Topology) -> RunbookAction:
        make = {
            "switch": self._switch,
            "switch-back": self._switch_back,
            "rebuild": self._rebuild,
            "move": self._move,
            "new-dpm": self._move,
            "reassign-secondary": self._reassign,
        }[a.action]
        return RunbookAction(a.action, describe(a), tuple(make(a, start, end)))

    # -- names --------------------------------------------------------------------------------
    def names(self, a: Action) -> tuple[str, ...]:
        """The data source names of the action's ids (`SERVER/NAME`: server names have no
        `/`, so an id splits at its first one)."""
        return tuple(ds_id.partition("/")[2] for ds_id in a.datasources)

    def _datasources_step(self, key: str, dpm: str, computer: str, names, summary: str) -> Step:
        return command(key, dpm, summary, Dpm=dpm, Computer=computer, Names=tuple(names))

    # -- actions ------------------------------------------------------------------------------
    def _switch(self, a: Action, start, end) -> list[Step]:
        server, p, s = a.server, a.from_, a.to
        names = self.names(a)
        groups = ", ".join(a.protection_groups) or "the protection groups that hold them"
        return [
            self._datasources_step(
                "switch-protection",
                s,
                server,
                names,
                f"switch protection of {server}'s data sources ({', '.join(names)}) from {p} to "
                f"{s}, in {groups}",
            ),
            manual(
                "accept-agent",
                s,
                f"accept ownership of {server}'s protection agent on {s}",
                f"In the DPM console of {s}, answer the protection agent alert for {server} "
                f"so that its agent works for {s}.",
            ),
            self._datasources_step(
                "consistency-check",
                s,
                server,
                names,
                f"consistency check of {server}'s switched data sources on {s}",
            ),
            note(
                "no-secondary",
                s,
                f"{server} has no secondary protection while it is switched to {s}",
            ),
        ]

    def _switch_back(self, a: Action, start, end) -> list[Step]:
        server, s, p = a.server, a.from_, a.to
        names = self.names(a)
        return [
            manual(
                "take-ownership",
                p,
                f"take ownership of {server}'s protection agent on {p}",
                f"In the DPM console of {p}, answer the 'Agent Ownership Required' alert for "
                f"{server} with Take Ownership.",
            ),
            manual(
                "modify-protection-group",
                p,
                f"protect {server}'s data sources on {p} again",
                f"On {p}, add {server}'s data sources ({', '.join(names)}) to a protection "
                "group (Get-DPMModifiableProtectionGroup, Add-DPMChildDatasource, "
                "Set-DPMProtectionGroup, or the console).",
            ),
            manual(
                "modify-protection-group",
                s,
                f"protect {p}'s replicas of {server}'s data sources on {s}",
                f"On {s}, add {p}'s replicas of {server}'s data sources to a protection group "
                "(secondary protection).",
            ),
            self._datasources_step(
                "consistency-check",
                p,
                server,
                names,
                f"consistency check of {server}'s data sources on {p}",
            ),
            self._datasources_step(
                "consistency-check",
                s,
                server,
                names,
                f"consistency check of {p}'s replicas of {server}'s data sources on {s}",
            ),
        ]

    def _rebuild(self, a: Action, start: Topology, end: Topology) -> list[Step]:
        p = a.dpm
        d = self.topology.dpm_servers[p]
        failure = d.failure or Failure()
        protectors = self.topology.protectors.get(p, ())
        steps = [
            manual(
                "reinstall",
                p,
                f"reinstall Windows and {product(d.version)} on a server named {p}",
                f"Reinstall Windows on a server named {p} (the same computer name).",
                f"Install {product(d.version)} on it: the same build and update rollup as the "
                "database backup.",
            )
        ]
        if failure.database != "intact":
            steps += _restore_database(p, self.topology.db_backup(p), protectors, d.database.sql)
        steps.append(command("dpmsync-sync", p, f"synchronize {p}'s DPM database", Dpm=p))
        if failure.storage == "lost":
            steps += _recreate_replicas(p, protectors)
        for computer in _staying(start, end, p):
            steps.append(
                command(
                    "set-dpm-server", computer, f"point {computer}'s protection agent at {p}", Dpm=p
                )
            )
        steps.append(
            command(
                "consistency-check-all", p, f"consistency check of every data source on {p}", Dpm=p
            )
        )
        return steps

    def _move(self, a: Action, start: Topology, end: Topology) -> list[Step]:
        server, p, n = a.server, a.from_, a.to
        names = self.names(a)
        steps = []
        if a.action == "new-dpm" and self.install_once(n):
            secondary = self.topology.protectors.get(p, ())
            unknown = (
                f", one that {', '.join(secondary)} does not know about." if secondary else "."
            )
            steps.append(_install_dpm(n, a.version, unknown))
        steps.append(
            command("set-dpm-server", server, f"point {server}'s protection agent at {n}", Dpm=n)
        )
        steps.append(
            manual(
                "install-agent",
                n,
                f"attach {server}'s protection agent to {n}",
                f"On {n}, attach the protection agent of {server} (or install it from {n}).",
            )
        )
        steps.append(
            manual(
                "modify-protection-group",
                n,
                f"protect {server}'s data sources on {n}",
                f"On {n}, add {server}'s data sources ({', '.join(names)}) to a protection "
                "group and run the initial replication.",
            )
        )
        protector = _up_protector(end, n)
        if protector and a.action == "move":
            steps.append(
                manual(
                    "modify-protection-group",
                    protector,
                    f"protect {n}'s replicas of {server}'s data sources on {protector}",
                    f"On {protector}, add {n}'s replicas of {server}'s data sources to its "
                    "secondary protection group.",
                )
            )
        old = [p, *[ds.secondary for ds in _datasources(start, server, p) if ds.secondary]]
        steps.append(
            note(
                "old-recovery-points",
                n,
                f"the old recovery points of {server} stay on {' and '.join(dict.fromkeys(old))}",
            )
        )
        return steps

    def _reassign(self, a: Action, start: Topology, end: Topology) -> list[Step]:
        y, t = a.dpm, a.to
        steps = []
        if a.version is not None and t not in self.topology.dpm_servers and self.install_once(t):
            steps.append(
                _install_dpm(t, a.version, f": the build of {y}, on the operating system of {y}.")
            )
        steps.append(
            manual(
                "install-agent",
                t,
                f"install {t}'s protection agent on {y}",
                f"From {t}, install the DPM protection agent on {y}.",
            )
        )
        steps += _protect_dpm(y, t, self.topology.dpm_servers.get(y))
        for computer, names in _by_computer(a.datasources):
            steps.append(
                self._datasources_step(
                    "consistency-check",
                    t,
                    computer,
                    names,
                    f"consistency check of {y}'s replicas of {computer}'s data sources on {t}",
                )
            )
        return steps


def manual(key: str, on: str, summary: str, *instructions: str) -> Step:
    """A step with no command: its instructions, then a pause until the administrator is done."""
    return Step(STEP_KINDS[key], on=on, summary=summary, instructions=instructions)


def command(key: str, on: str, summary: str, **arguments: str | tuple[str, ...]) -> Step:
    """A command step, with the values its PowerShell reads from `$A`."""
    return Step(STEP_KINDS[key], on=on, summary=summary, arguments=tuple(arguments.items()))


def note(key: str, on: str, summary: str) -> Step:
    return Step(STEP_KINDS[key], on=on, summary=summary)


def _install_dpm(name: str, version: str, tail: str) -> Step:
    """The installation of a new DPM server; `tail` ends the instruction's sentence."""
    return manual(
        "install-dpm-server",
        name,
        f"install a new DPM server {name} ({product(version)})",
        f"Install Windows and {product(version)} on a new server named {name}{tail}",
    )


_BACKUP_SOURCES = {
    "azure": "Azure",
    "own-pool": "its own storage pool",
    "tape": "tape",
    "share": "the share it backs its database up to",
    "sql-native": "its native SQL Server backup",
    "none": "wherever a copy exists (the estate records no backup)",
}


def _restore_database(p: str, backup: str, protectors, sql: str) -> list[Step]:
    """A rebuild's steps that bring back a lost DPM database, from where its backup is."""
    if backup == "secondary":
        source = f"its secondary {', '.join(protectors)}".strip()
    else:
        source = _BACKUP_SOURCES.get(backup, backup)
    steps = [
        manual(
            "recover-database-backup",
            p,
            f"recover the backup of {p}'s DPM database from {source}",
            f"Recover the newest backup of {p}'s DPM database from {source} to a "
            f"folder {p} can read, and note the path of the .bak or .mdf file.",
        )
    ]
    if sql == "remote":
        steps.append(
            manual(
                "restore-database-remote-sql",
                p,
                f"restore {p}'s DPM database on its remote SQL Server",
                f"On {p}, run DpmSync -RestoreDb -DbLoc <path> -InstanceName "
                "<server\\instance> with the instance that holds its DPM database.",
            )
        )
    else:
        steps.append(command("dpmsync-restore", p, f"restore {p}'s DPM database", Dpm=p))
    return steps


def _recreate_replicas(p: str, protectors) -> list[Step]:
    """A rebuild's steps when the storage pool was lost: new volumes, replicas from elsewhere."""
    source = ", ".join(protectors) or "tape"
    return [
        command("dpmsync-reallocate", p, f"allocate new replica volumes on {p}", Dpm=p),
        manual(
            "recreate-replicas",
            p,
            f"re-create {p}'s replicas from {source}",
            f"Re-create each replica of {p} from {source} (Restore to replica).",
        ),
    ]


_SCOPE_WORDS = (
    ("DPM database", "database"),
    ("Config folder", "config"),
    ("Scripting folder", "scripting"),
    ("replicas", "replicas"),
)


def _protect_dpm(y: str, t: str, d) -> list[Step]:
    """A new secondary t protects DPM server y: a protection group for its scope, and the SQL
    writer its database backup needs."""
    scope = d.secondary_scope if d is not None else ()
    what = [w for w, k in _SCOPE_WORDS if k in scope]
    steps = [
        manual(
            "modify-protection-group",
            t,
            f"protect {y} on {t}",
            f"On {t}, create a protection group for {y}'s {_listed(what) or 'data'}.",
        )
    ]
    if "database" not in scope:
        return steps
    if d is not None and d.database.sql == "remote":
        steps.append(
            manual(
                "start-sql-writer-remote",
                y,
                f"start the SQL Server VSS Writer on {y}'s SQL Server",
                f"On the SQL Server that holds {y}'s DPM database, set the SQLWriter "
                "service to start automatically and start it.",
            )
        )
    else:
        steps.append(
            command("start-sql-writer", y, f"start the SQL Server VSS Writer on {y}", Dpm=y)
        )
    return steps


def _at_failure(topology: Topology, failed: Iterable[str], removed: Iterable[str]) -> Topology:
    """The estate with the servers suggest-move was told about marked failed (with the default
    failure where the file gives none) or removed, as suggest-move itself sees it."""
    dpms = dict(topology.dpm_servers)
    for n in failed:
        if n in dpms and dpms[n].status == "up":
            dpms[n] = evolve(dpms[n], status="failed", failure=dpms[n].failure or Failure())
    for n in removed:
        if n in dpms:
            dpms[n] = evolve(dpms[n], status="removed", failure=None)
    return replace(topology, dpm_servers=dpms)


def _datasources(t: Topology, server: str, primary: str):
    s = t.servers.get(server)
    return [ds for ds in (s.datasources if s else ()) if ds.primary == primary]


def _staying(start: Topology, end: Topology, p: str) -> list[str]:
    """The protected computers with data sources on p both before and after the phase: those
    whose agent a rebuild points back at p (a switched server comes back by Take Ownership)."""
    out = []
    for name, s in start.servers.items():
        after = end.servers.get(name)
        if (
            any(ds.primary == p for ds in s.datasources)
            and after
            and any(ds.primary == p for ds in after.datasources)
        ):
            out.append(name)
    return sorted(out, key=canon)


def _up_protector(t: Topology, n: str) -> str | None:
    ups = [x for x in t.protectors.get(n, ()) if t.dpm_servers[x].up]
    return ups[0] if ups else None


def _by_computer(ids: Iterable[str]) -> list[tuple[str, tuple[str, ...]]]:
    """Data source ids grouped by protected computer, in the order given."""
    out: dict[str, list[str]] = {}
    for ds_id in ids:
        server, _, name = ds_id.partition("/")
        out.setdefault(server, []).append(name)
    return [(k, tuple(v)) for k, v in out.items()]


def _listed(items: Sequence[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return (
        ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + (items[-1] if items else "")
    )


def describe(a: Action) -> str:
    """One line saying what an action does, with its names (shown when the runbook runs)."""
    if a.action == "rebuild":
        return f"rebuild {a.dpm} with the same name and version, restoring its database"
    if a.action == "reassign-secondary":
        instead = f" (instead of {a.from_})" if a.from_ else ""
        return f"make {a.to} the secondary of {a.dpm}{instead}"
    verbs = {
        "switch": "switch protection of {s} from {f} to its secondary {t}",
        "switch-back": "switch {s} back from {f} to {t}",
        "move": "move {s} from {f} to {t}",
        "new-dpm": "move {s} from {f} to a new DPM server {t}",
    }
    return verbs[a.action].format(s=a.server, f=a.from_, t=a.to)


# -- the reference ------------------------------------------------------------------------------


def reference_markdown(kinds: Mapping[str, StepKind] = STEP_KINDS) -> str:
    """docs/runbook.md: what each kind of step does, the command it runs, and its source."""
    lines = [
        "# Runbook steps",
        "",
        "<!-- generated: python -m dpmsmt.runbook > docs/runbook.md (tests/render/test_ps1.py checks) -->",
        "",
        "`dpmsmt suggest-move --format ps1` and `dpmsmt design --format ps1` write a plan as a",
        "PowerShell runbook. Each action of the plan becomes the steps below, in order. A",
        "**command** step runs on the computer it names (locally, or through `Invoke-Command`);",
        "a **manual** step, where no command exists, prints its instructions and waits until the",
        "administrator types `DONE`; a **note** only reminds. Without `-Execute` the runbook is a",
        "dry run: it prints every step and the command it would run, and changes nothing.",
        "",
        "| step | kind | runs | source |",
        "|---|---|---|---|",
    ]
    for k in kinds.values():
        kind = "note" if k.note else "manual" if k.manual else "command"
        runs = f"`{k.command}`" if k.command else "—"
        lines.append(f"| {k.title} (`{k.key}`) | {kind} | {runs} | {k.source} |")
    lines += ["", "## What each step does", ""]
    for k in kinds.values():
        lines += [f"### {k.title} (`{k.key}`)", "", k.doc, ""]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m dpmsmt.runbook > docs/runbook.md
    print(reference_markdown())
