"""A plan as a PowerShell runbook script (`--format ps1` of suggest-move and design).

The script is a dry run unless started with `-Execute`: it prints each step and the command it
would run. With `-Execute` each command step runs on the computer it names (here, or through
`Invoke-Command`), and each manual step waits until the administrator types DONE.

Safety of names. Every string from the topology (server, data source, protection group and file
names, versions) reaches the script only through `literal`: a single-quoted PowerShell string in
which each quote character is doubled, including the four Unicode quotes PowerShell also ends a
single-quoted string at (‘ ’ ‚ ‛). Inside single quotes PowerShell expands nothing (`$`, backtick
and newlines are plain text), so a name can never become code. Names are never written into
comments, where a newline would end the comment. The script starts with a UTF-8 byte order mark:
Windows PowerShell 5.1 reads a file without one in the ANSI code page, where the bytes of some
UTF-8 letters (`ђ` is D1 92) would read as a quote (0x92 is ’ in Windows-1252).
"""

from __future__ import annotations

import re
from collections import Counter

from dpmsmt.model import Topology
from dpmsmt.runbook import Runbook, Step, build_runbook

__all__ = [
    "BOM",
    "PS_QUOTES",
    "design_ps1",
    "literal",
    "render_ps1",
    "render_runbook",
    "suggestion_ps1",
]

BOM = "\ufeff"
# The characters PowerShell's tokenizer treats as a single quote (apostrophe, U+2018 to U+201B).
PS_QUOTES = "'\u2018\u2019\u201a\u201b"


def literal(value: str) -> str:
    """`value` as a PowerShell single-quoted string: every quote character doubled, which
    PowerShell reads back as one quote, so the string ends only at our closing quote."""
    return "'" + "".join(c + c if c in PS_QUOTES else c for c in str(value)) + "'"


def render_ps1(plan, topology: Topology, *, bom: bool = True, **runbook) -> str:
    """The runbook script of a suggest-move `Plan` or a design `Design` (pure: no I/O).

    `topology` is the estate as read from the file; `runbook` are `build_runbook`'s options:
    `command` (suggest-move or design) follows the plan's type unless given; `failed`/`removed`
    are the servers suggest-move was told about (a `Suggestion` has them); `plans`, `optimal`.
    With `bom`, the text starts with a byte order mark so that Windows PowerShell 5.1 reads it as
    UTF-8 (keep it when saving)."""
    return (BOM if bom else "") + render_runbook(build_runbook(plan, topology, **runbook))


def suggestion_ps1(suggestion, *, topology: Topology, plan: int = 1, bom: bool = True) -> str:
    """The runbook of a suggest-move answer's plan `plan` (1-based)."""
    return render_ps1(
        suggestion.plans[plan - 1],
        topology,
        plans=len(suggestion.plans),
        failed=suggestion.failed,
        removed=suggestion.removed,
        optimal=suggestion.optimal,
        bom=bom,
    )


def design_ps1(result, *, topology: Topology, plan: int = 1, bom: bool = True) -> str:
    """The runbook of a design answer's design `plan` (1-based)."""
    return render_ps1(
        result.designs[plan - 1],
        topology,
        command="design",
        plans=len(result.designs),
        optimal=result.optimal,
        bom=bom,
    )


def render_runbook(book: Runbook) -> str:
    out: list[str] = []
    out += _help(book)
    out += _PRELUDE.splitlines()
    out += _data(book)
    out += ["", "Write-RunbookHeader"]
    number = 0
    phases = len(book.phases)
    for i, phase in enumerate(book.phases, 1):
        out += [
            "",
            "# " + "=" * 96,
            f"# Phase {i} of {phases}: {phase.key}, {phase.title}",
            "# " + "=" * 96,
            f"Write-RunbookPhase -Number {i} -Of {phases} -Title {literal(phase.key + ': ' + phase.title)}",
        ]
        if not phase.actions:
            out.append("Write-RunbookNote -Text 'nothing to do in this phase'")
        for j, action in enumerate(phase.actions, 1):
            out += ["", f"# Action {i}.{j}: {action.action}"]
            out.append(
                f"Write-RunbookAction -Number {literal(f'{i}.{j}')} -Text {literal(action.summary)}"
            )
            for step in action.steps:
                if step.kind.note:
                    out.append(f"Write-RunbookNote -Text {literal(step.summary)}")
                    continue
                number += 1
                out += _step(number, step)
    out += [
        "",
        "Write-Host ''",
        "Write-Host ('runbook finished ({0} steps)' -f " + str(number) + ")",
    ]
    return "\n".join(out) + "\n"


def _step(number: int, step: Step) -> list[str]:
    kind = step.kind
    head = [""]
    if kind.manual:
        head.append(f"# Step {number} (manual, no command exists): {kind.title}")
        head.append(f"# Source: {kind.source}")
        lines = [
            f"Confirm-RunbookStep -Number {number} -On {literal(step.on)} "
            f"-Summary {literal(step.summary)} -Instructions @("
        ]
        lines += [f"    {literal(text)}" for text in step.instructions]
        lines.append(")")
        return head + lines
    head.append(f"# Step {number}: {kind.command}")
    head.append(f"# Source: {kind.source}")
    args = "; ".join(f"{key} = {_value(value)}" for key, value in step.arguments)
    needs = " -NeedsDbLoc" if kind.needs_dbloc else ""
    lines = [
        f"Invoke-RunbookStep -Number {number} -On {literal(step.on)} -Summary {literal(step.summary)} "
        f"-Command {literal(kind.command)}{needs} -Arguments @{{ {args} }} -Script {{",
        "    param($A)",
        "    $ErrorActionPreference = 'Stop'",
    ]
    lines += [f"    {line}" if line else "" for line in kind.script.splitlines()]
    lines.append("}")
    return head + lines


def _value(value) -> str:
    if isinstance(value, tuple):
        return "@(" + ", ".join(literal(v) for v in value) + ")"
    return literal(value)


_WORD = re.compile(r"[A-Za-z0-9_]+")


def _help(book: Runbook) -> list[str]:
    """Comment-based help (`Get-Help .\\runbook.ps1`): fixed text and numbers only, no names."""
    state = "complete" if book.complete else "partial: some data sources stay unprotected"
    lines = [
        "<#",
        ".SYNOPSIS",
        f"dpmsmt runbook: {book.command} plan {book.rank} of {book.plans} ({state}).",
        "",
        ".DESCRIPTION",
        "Carries out one plan of dpmsmt, phase by phase, action by action. Without -Execute it is",
        "a dry run: it prints every step and the command it would run, and changes nothing.",
        "Command steps run on the computer they name (here, or through Invoke-Command: the DPM",
        "Management Shell on the DPM servers and PowerShell remoting are needed); a manual step,",
        "where no command exists, prints its instructions and waits until you type DONE.",
        "",
        "The plan, phase by phase (the actions in each, by kind):",
    ]
    for i, phase in enumerate(book.phases, 1):
        counts = Counter(a.action for a in phase.actions)
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "nothing"
        lines.append(f"  {i}. {phase.key} ({phase.title}): {kinds}")
    lines += ["", "Costs of the plan (lower is better):"]
    for key, value in book.cost:
        if _WORD.fullmatch(str(key)) and isinstance(value, int):
            lines.append(f"  {key}: {value}")
    if not book.optimal:
        lines.append("The solver's time limit was reached: the plan may not be the best.")
    lines += [
        "",
        "What the plan loses, the servers it names and the estate file are in $Runbook below and",
        "are printed when the runbook starts: names from the topology appear only as quoted",
        "values, never in comments or as code.",
        "",
        ".PARAMETER Execute",
        "Run the steps. Without it the runbook only shows them.",
        "",
        ".PARAMETER StartAt",
        "Skip the steps before this number (to resume after a stop).",
        "",
        ".PARAMETER DbLoc",
        "The database backup to restore per rebuilt DPM server, for example",
        "@{ 'DPM1' = 'D:\\restore\\DPMDB.bak' }; asked for when missing.",
        "",
        ".EXAMPLE",
        ".\\runbook.ps1",
        "Shows every step (dry run).",
        "",
        ".EXAMPLE",
        ".\\runbook.ps1 -Execute -StartAt 4",
        "Runs the steps from step 4 on.",
        "",
        ".NOTES",
        "Written by dpmsmt. The file starts with a UTF-8 byte order mark: keep it when saving.",
        "#>",
    ]
    return lines


def _data(book: Runbook) -> list[str]:
    def names(values) -> str:
        return "@(" + ", ".join(literal(v) for v in values) + ")"

    def scalar(value) -> str:
        if isinstance(value, bool):
            return "$true" if value else "$false"
        if isinstance(value, int):
            return str(value)
        return literal(value)

    costs = "; ".join(f"{literal(k)} = {scalar(v)}" for k, v in book.cost)
    loses = "; ".join(f"{literal(k)} = {names(v)}" for k, v in book.loses)
    return [
        "",
        "# The plan: what the header prints. Every name is a quoted value.",
        "$Runbook = [ordered]@{",
        f"    Command     = {literal(book.command)}",
        f"    File        = {literal(book.file)}",
        f"    Plan        = {book.rank}",
        f"    Plans       = {book.plans}",
        f"    Complete    = {scalar(book.complete)}",
        f"    Optimal     = {scalar(book.optimal)}",
        f"    Failed      = {names(book.failed)}",
        f"    Removed     = {names(book.removed)}",
        f"    Costs       = [ordered]@{{ {costs} }}",
        f"    Loses       = [ordered]@{{ {loses} }}",
        f"    Unprotected = {names(book.unprotected)}",
        "}",
    ]


_PRELUDE = r"""[CmdletBinding(SupportsShouldProcess = $true)]
param(
    [switch]$Execute,
    [int]$StartAt = 1,
    [hashtable]$DbLoc = @{}
)

$ErrorActionPreference = 'Stop'
$DryRun = (-not $Execute) -or $WhatIfPreference

function Write-RunbookHeader {
    Write-Host ('dpmsmt runbook: {0} plan {1} of {2} for {3}' -f $Runbook.Command, $Runbook.Plan, $Runbook.Plans, $Runbook.File)
    if ($Runbook.Complete) { Write-Host '  complete: every data source is protected at the end of each phase' }
    else { Write-Host ('  PARTIAL: stays unprotected: {0}' -f ($Runbook.Unprotected -join ', ')) }
    if (-not $Runbook.Optimal) { Write-Host '  the solver''s time limit was reached: the plan may not be the best' }
    if ($Runbook.Failed.Count -gt 0) { Write-Host ('  failed: {0}' -f ($Runbook.Failed -join ', ')) }
    if ($Runbook.Removed.Count -gt 0) { Write-Host ('  removed: {0}' -f ($Runbook.Removed -join ', ')) }
    foreach ($cost in $Runbook.Costs.GetEnumerator()) { Write-Host ('  cost {0}: {1}' -f $cost.Key, $cost.Value) }
    foreach ($loss in $Runbook.Loses.GetEnumerator()) { Write-Host ('  loses {0}: {1}' -f $loss.Key, ($loss.Value -join ', ')) }
    if ($DryRun) { Write-Host 'DRY RUN: nothing changes. Run again with -Execute to carry the steps out.' }
}

function Write-RunbookPhase {
    param([int]$Number, [int]$Of, [string]$Title)
    Write-Host ''
    Write-Host ('Phase {0} of {1}: {2}' -f $Number, $Of, $Title)
}

function Write-RunbookAction {
    param([string]$Number, [string]$Text)
    Write-Host ('Action {0}: {1}' -f $Number, $Text)
}

function Write-RunbookNote {
    param([string]$Text)
    Write-Host ('  note: {0}' -f $Text)
}

function Test-RunbookLocal {
    param([string]$Computer)
    return (($Computer -split '\.')[0] -eq $env:COMPUTERNAME)
}

function Invoke-RunbookStep {
    param(
        [int]$Number, [string]$On, [string]$Summary, [string]$Command,
        [hashtable]$Arguments, [scriptblock]$Script, [switch]$NeedsDbLoc
    )
    if ($Number -lt $StartAt) { Write-Host ('  step {0}: skipped' -f $Number); return }
    Write-Host ('  step {0} on {1}: {2}' -f $Number, $On, $Summary)
    if ($DryRun) { Write-Host ('    would run: {0}' -f $Command); return }
    $A = $Arguments.Clone()
    if ($NeedsDbLoc) {
        $A.DbLoc = $DbLoc[$On]
        if (-not $A.DbLoc) { $A.DbLoc = Read-Host ('Path of the DPM database backup to restore on {0}' -f $On) }
        if (-not $A.DbLoc) { throw ('step {0}: no database backup for {1}' -f $Number, $On) }
    }
    if (Test-RunbookLocal -Computer $On) { & $Script $A }
    else { Invoke-Command -ComputerName $On -ScriptBlock $Script -ArgumentList $A }
}

function Confirm-RunbookStep {
    param([int]$Number, [string]$On, [string]$Summary, [string[]]$Instructions)
    if ($Number -lt $StartAt) { Write-Host ('  step {0}: skipped' -f $Number); return }
    Write-Host ('  step {0} on {1} (manual): {2}' -f $Number, $On, $Summary)
    foreach ($line in $Instructions) { Write-Host ('    {0}' -f $line) }
    if ($DryRun) { return }
    $answer = Read-Host ('Type DONE when step {0} is done (anything else stops the runbook)' -f $Number)
    if ($answer -ne 'DONE') { throw ('stopped at step {0}: run again with -Execute -StartAt {0} to resume' -f $Number) }
}"""
