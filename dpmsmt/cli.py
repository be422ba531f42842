"""The command line: parse, call the core, pick a renderer, map the answer to an exit code.

Exit codes (cli.md): 0 done/clean, 1 the answer is "no", 2 the question could not be asked
(bad input or option; one line on stderr, never a traceback), 3 the solver gave up.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import sys
from enum import StrEnum
from typing import Annotated, NoReturn, assert_never

import typer

from dpmsmt.findings import Report, Severity, SolverGaveUp, TopologyError, UsageError
from dpmsmt.io.output import OutputError, Terminated
from dpmsmt.model import PROFILES

try:  # typer >= 0.20 vendors click as typer._click
    from typer._click import exceptions as click
except ImportError:  # pragma: no cover
    from click import exceptions as click  # type: ignore[no-redef]

app = typer.Typer(
    name="dpmsmt",
    help="A formal constraint model and solver for Microsoft DPM backup topologies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _show_version(value: bool) -> None:
    if value:
        from dpmsmt import __version__

        sys.stdout.write(f"dpmsmt {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """A formal constraint model and solver for Microsoft DPM backup topologies."""


class Fatal(Exception):
    """A user error: printed as one line `dpmsmt: error: …`, exit code 2."""


class CheckFormat(StrEnum):
    text = "text"
    json = "json"
    sarif = "sarif"
    junit = "junit"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


def _color(no_color: bool) -> bool:
    return not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()


def _outputs(inputs: list[str | None], force: bool, updates=None, **claims: str | list[str] | None):
    """The command's outputs (dpmsmt/io/output.py), claimed before any work: option name (with
    `_` for `-`) -> path or paths."""
    from dpmsmt.io.output import Outputs

    sink = Outputs(inputs, force=force, updates=updates)
    for option, paths in claims.items():
        for path in [paths] if isinstance(paths, str) else paths or ():
            sink.claim(path, "--" + option.replace("_", "-"))
    return sink


def _emit(text: str, output: str | None, sink) -> None:
    if output:
        sink.write(output, text)
    else:
        sys.stdout.write(text)


def _load(path: str):
    from dpmsmt.io.loader import load

    return load(path)


def _ids(values: list[str] | None, option: str) -> set[str] | None:
    if not values:
        return None
    from dpmsmt.rules import rule_ids

    known = set(rule_ids())
    out = {v.upper() for v in _split(values, option)}
    unknown = sorted(out - known)
    if unknown:
        raise Fatal(f"unknown rule id {unknown[0]} (see `dpmsmt rules`)")
    return out


def _today(value: str | None) -> _dt.date | None:
    if value is None:
        return None
    import re

    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError
        return _dt.date.fromisoformat(value)
    except ValueError:
        raise Fatal(f"--today: not an ISO date (YYYY-MM-DD): {value!r}") from None


def _check_timeout(timeout: float) -> None:
    """One rule for every command: a time limit is a positive, finite number of seconds."""
    import math

    if not (math.isfinite(timeout) and timeout > 0):
        raise Fatal(f"--timeout: a positive, finite number of seconds, not {timeout}")


def _one_stdin(*paths: str | None) -> None:
    """Standard input can be read once: at most one input may be `-`."""
    if sum(p == "-" for p in paths) > 1:
        raise Fatal("`-` (standard input) is given for more than one input file")


def _profile(value: str | None) -> str | None:
    if value is not None and value not in PROFILES:
        raise Fatal(f"--profile: unknown profile {value!r} (one of {', '.join(PROFILES)})")
    return value


def exit_code(report: Report, fail_on: FailOn) -> int:
    if fail_on is FailOn.never:
        return 0
    floor = Severity.parse(fail_on.value)
    return int(any(f.severity >= floor and not f.waived for f in report.findings))


def render_report(
    report: Report, fmt: CheckFormat, *, color: bool, show_waived: bool = False
) -> str:
    if fmt is CheckFormat.text:
        from dpmsmt.render import text

        return text.render(report, color=color, show_waived=show_waived)
    if fmt is CheckFormat.json:
        from dpmsmt.render import json as json_render

        return json_render.render(report)
    if fmt is CheckFormat.sarif:
        from dpmsmt.render import sarif

        return sarif.render(report)
    if fmt is CheckFormat.junit:
        from dpmsmt.render import junit

        return junit.render(report)
    assert_never(fmt)


def _check_targets(
    formats: list[CheckFormat] | None, outputs: list[str] | None, write_baseline: str | None
) -> list[tuple[CheckFormat, str | None]]:
    """Pair `--format` with `--output` (cli.md): the i-th --output takes the i-th --format, a
    --format beyond the outputs goes to stdout, and at most one may."""
    fmts = list(formats or [CheckFormat.text])
    outs = list(outputs or [])
    if len(outs) > len(fmts):
        raise Fatal(
            f"{len(outs)} --output for {len(fmts)} --format: "
            "the i-th --output is where the i-th --format is written"
        )
    # `--output -` is standard output: it counts as the one format that may go there
    targets = [
        (fmt, outs[i] if i < len(outs) and outs[i] != "-" else None) for i, fmt in enumerate(fmts)
    ]
    if sum(out is None for _, out in targets) > 1:
        raise Fatal(
            "only one --format can go to standard output; give the others an --output each "
            "(the i-th --output is where the i-th --format is written)"
        )
    return targets


def _read_baseline(path: str) -> frozenset[str]:
    """The fingerprints of a baseline file; a missing or malformed one is a Fatal (exit 2)."""
    from dpmsmt.baseline import BaselineError, parse_baseline
    from dpmsmt.io.limits import ReadFailure
    from dpmsmt.io.source import Unreadable, decode, display_name, read_bytes

    name = display_name(path)
    try:
        text = decode(read_bytes(path, "baseline")).removeprefix("\ufeff")
    except Unreadable as e:
        raise Fatal(str(e)) from None
    except ReadFailure as f:
        raise Fatal(f"{name}:{f.line}:{f.column}: the baseline: {f.message} (at <root>)") from None
    try:
        return parse_baseline(text, file=name)
    except BaselineError as e:
        raise Fatal(str(e)) from None


def _render_check(
    report: Report, fmt: CheckFormat, *, color: bool, evaluated: list[str], show_waived: bool
) -> str:
    if fmt is CheckFormat.junit:  # one test case per evaluated rule: --select/--ignore count
        from dpmsmt.render import junit

        return junit.render(report, rules=evaluated)
    return render_report(report, fmt, color=color, show_waived=show_waived)


@app.command()
def check(
    file: Annotated[str, typer.Argument(help="The topology file (YAML, or JSON by extension).")],
    before: Annotated[
        str | None, typer.Option(help="The topology before the change: the change rules apply.")
    ] = None,
    profile: Annotated[
        str | None, typer.Option(help="Override the file's profile (strict, 2012 … 2025).")
    ] = None,
    format: Annotated[
        list[CheckFormat] | None,
        typer.Option(
            "--format",
            "-f",
            help="Report format (default text); repeat it, with an --output for each but one.",
        ),
    ] = None,
    fail_on: Annotated[
        FailOn, typer.Option(help="Lowest severity that makes the exit code 1.")
    ] = FailOn.error,
    select: Annotated[
        list[str] | None, typer.Option(help="Only these rules (comma-separated ids).")
    ] = None,
    ignore: Annotated[
        list[str] | None, typer.Option(help="Not these rules (comma-separated ids).")
    ] = None,
    output: Annotated[
        list[str] | None,
        typer.Option(
            "--output",
            "-o",
            help="Write the report there (atomically); the i-th --output takes the i-th --format.",
        ),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Solver time limit in seconds.")] = 60.0,
    today: Annotated[
        str | None, typer.Option(help="The date waivers expire against (default: today).")
    ] = None,
    baseline: Annotated[
        str | None,
        typer.Option(help="Accept the findings recorded in this file: only new ones count."),
    ] = None,
    write_baseline: Annotated[
        str | None, typer.Option(help="Record the current findings in this file (atomically).")
    ] = None,
    show_waived: Annotated[
        bool,
        typer.Option(
            "--show-waived", help="Text: list waived and baselined findings too (in grey)."
        ),
    ] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour.")] = False,
    force: Annotated[
        bool, typer.Option(help="Replace existing --output/--write-baseline files.")
    ] = False,
) -> None:
    """Prove a topology supported, or list every violated rule instance."""
    import dataclasses

    from dpmsmt import baseline as baselines
    from dpmsmt.check import check as run_check
    from dpmsmt.render.junit import evaluated_rules

    _check_timeout(timeout)
    _one_stdin(file, before, baseline)
    targets = _check_targets(format, output, write_baseline)
    sink = _outputs(
        [file, before, baseline],
        force,
        updates={"--write-baseline": baseline},  # a baseline may be updated in place
        output=output,
        write_baseline=write_baseline,
    )
    accepted = _read_baseline(baseline) if baseline else None
    topology = _load(file)
    previous = _load(before) if before else None
    chosen_profile, date = _profile(profile), _today(today)
    selected, ignored = _ids(select, "--select"), _ids(ignore, "--ignore")
    report = run_check(
        topology,
        before=previous,
        profile=chosen_profile,
        today=date,
        select=selected,
        ignore=ignored,
        timeout=timeout,
    )
    if accepted is not None:
        report = baselines.apply_baseline(report, accepted)
    evaluated = evaluated_rules(report, select=selected, ignore=ignored)
    color = _color(no_color)
    rendered = [
        (
            _render_check(
                report,
                fmt,
                color=color and out is None,
                evaluated=evaluated,
                show_waived=show_waived,
            ),
            out,
        )
        for fmt, out in targets
    ]
    if write_baseline:
        sink.write(write_baseline, baselines.render(report), "--write-baseline")
        n = len(baselines.baseline_json(report)["fingerprints"])
        sys.stderr.write(f"dpmsmt: recorded {n} finding(s) in the baseline {write_baseline}\n")
    for text, out in sorted(rendered, key=lambda t: t[1] is None):  # files first, then stdout
        _emit(text, out, sink)
    counted = tuple(f for f in report.findings if not f.baselined)
    raise typer.Exit(exit_code(dataclasses.replace(report, findings=counted), fail_on))


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    yaml = "yaml"
    ps1 = "ps1"


def _runbook_plan(plans, plan: int, what: str, fmt: PlanFormat, *, optimal: bool) -> None:
    """`--plan N` names the plan `--format ps1` writes: out of range is exit 2; no plan at all
    is the answer "no" (exit 1, or 3 when the solver gave up), with nothing written."""
    if fmt is not PlanFormat.ps1:
        return
    if not plans:
        sys.stderr.write(f"dpmsmt: no {what} found: no runbook written\n")
        raise typer.Exit(1 if optimal else 3)
    if not 1 <= plan <= len(plans):
        count = f"is 1 {what}" if len(plans) == 1 else f"are {len(plans)} {what}s"
        raise Fatal(f"--plan {plan}: there {count}")


def render_suggestion(
    suggestion, fmt: PlanFormat, *, color: bool, plan=1, topology=None, unused=None
) -> str:
    """`unused`: per plan rank, the waivers it makes unused (`plan_waivers.waiver_json`)."""
    from dpmsmt.render import plans

    if fmt is PlanFormat.ps1:
        from dpmsmt.render.ps1 import render_ps1

        return render_ps1(
            suggestion.plans[plan - 1],
            topology,
            plans=len(suggestion.plans),
            failed=suggestion.failed,
            removed=suggestion.removed,
            optimal=suggestion.optimal,
        )
    if fmt is PlanFormat.text:
        return plans.render_text(suggestion, color=color, unused=unused)
    if fmt is PlanFormat.json:
        return plans.render_json(suggestion, unused=unused)
    if fmt is PlanFormat.yaml:
        return plans.render_yaml(suggestion, unused=unused)
    assert_never(fmt)


class ApplyPhase(StrEnum):
    immediate = "immediate"
    final = "final"


_APPLY_PHASE_HELP = (
    "With --apply: write the estate after the plan's immediate phase (what to do now) or after "
    "its final phase (rebuilds and switch-backs too)."
)


def _split(values: list[str] | None, option: str) -> list[str]:
    """Comma-separated values of a repeatable option; an option given with nothing in it is an
    error (`--allow ''` would otherwise mean "every action")."""
    for item in values or ():
        if not item.replace(",", "").strip():
            raise Fatal(f"{option}: empty value {item!r}; give at least one value")
    return [v.strip() for item in values or () for v in item.split(",") if v.strip()]


@app.command("suggest-move")
def suggest_move(
    file: Annotated[str, typer.Argument(help="The topology file.")],
    fail: Annotated[
        list[str] | None, typer.Option("--fail", help="Treat this DPM server as failed (repeat).")
    ] = None,
    remove: Annotated[
        list[str] | None,
        typer.Option("--remove", help="Treat this DPM server as removed for good (repeat)."),
    ] = None,
    top: Annotated[int, typer.Option(help="How many plans.")] = 3,
    allow: Annotated[
        list[str] | None,
        typer.Option(
            help="Only these actions (comma-separated): switch, switch-back, rebuild, move, "
            "new-dpm, reassign-secondary."
        ),
    ] = None,
    rank: Annotated[
        list[str] | None,
        typer.Option(
            help="Rank plans by these criteria first (comma-separated; unprotected stays first "
            "unless named, the others follow in the default order). Default order: unprotected, "
            "history_broken, exposure, secondary_lost, new_servers, rebuilds, repointed, "
            "max_load; lower is better."
        ),
    ] = None,
    apply: Annotated[
        int | None, typer.Option("--apply", help="Write plan N's final state to --output.")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Where --apply writes (or the report).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --output file.")] = False,
    apply_phase: Annotated[
        ApplyPhase, typer.Option("--apply-phase", help=_APPLY_PHASE_HELP)
    ] = ApplyPhase.final,
    format: Annotated[PlanFormat, typer.Option("--format", "-f", help="Report format.")] = (
        PlanFormat.text
    ),
    plan: Annotated[int, typer.Option("--plan", help="The plan --format ps1 writes.")] = 1,
    timeout: Annotated[float, typer.Option(help="Solver time limit in seconds.")] = 60.0,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour.")] = False,
) -> None:
    """Synthesize ranked, legal recovery plans after DPM servers fail."""
    import dataclasses

    from dpmsmt.actions import ACTIONS
    from dpmsmt.recovery import CRITERIA, synthesize

    _check_timeout(timeout)
    allowed = _split(allow, "--allow") or None
    for a in allowed or ():
        if a not in ACTIONS:
            raise Fatal(f"--allow: unknown action {a!r} (one of {', '.join(ACTIONS)})")
    order = _split(rank, "--rank") or None
    for c in order or ():
        if c not in CRITERIA:
            raise Fatal(f"--rank: unknown criterion {c!r} (one of {', '.join(CRITERIA)})")
    _plan_options(top, apply, output)
    sink = _outputs([file], force, output=output)
    failed, removed = _split(fail, "--fail"), _split(remove, "--remove")
    both = sorted({n.casefold() for n in failed} & {n.casefold() for n in removed})
    if both:
        name = next(n for n in failed if n.casefold() == both[0])
        raise Fatal(f"{name} is given to both --fail and --remove: a server is one or the other")
    topology = _load(file)
    try:
        suggestion = synthesize(
            topology,
            failed=failed,
            removed=removed,
            top=top,
            allow=allowed,
            rank=order,
            timeout=timeout,
        )
    except UsageError as e:
        raise Fatal(str(e)) from None
    if not suggestion.failed and not suggestion.removed:
        raise Fatal(
            f"no DPM server is failed or removed in {file}: name one with --fail NAME "
            "(or mark it `status: failed` in the file)"
        )
    _runbook_plan(suggestion.plans, plan, "plan", format, optimal=suggestion.optimal)
    _finish_plans(
        suggestion.plans,
        "plan",
        lambda color, shown, unused: render_suggestion(
            dataclasses.replace(suggestion, plans=shown),
            format,
            color=color,
            plan=plan if apply is None else 1,  # with --apply, the applied plan is the one shown
            topology=topology,
            unused=unused,
        ),
        apply=apply,
        output=output,
        sink=sink,
        no_color=no_color,
        optimal=suggestion.optimal,
        complete=suggestion.complete,
        source=(file, topology),
        phase=apply_phase.value,
    )


def _plan_options(top: int, apply: int | None, output: str | None) -> None:
    """The options suggest-move and design share, checked before anything is read."""
    if top < 1:
        raise Fatal("--top: at least 1")
    if apply is not None and not output:
        raise Fatal("--apply needs --output FILE")
    if apply is not None and output == "-":
        raise Fatal(
            "--apply --output -: the final state would be mixed with the report; name a file"
        )


def _finish_plans(
    plans,
    what: str,
    render,
    *,
    apply,
    output,
    sink,
    no_color,
    optimal,
    complete,
    source,
    phase: str = "final",
):
    """Write plan N's state (`--apply`, atomically, into the user's own YAML: comments and
    layout kept; the waivers it makes unused dropped) and print that plan alone, or print the
    report; then exit: 3 when the solver gave up, else 0 when a complete plan exists, else 1
    (suggest-move and design). `render(color, shown plans, unused waivers by rank)`."""
    from dpmsmt.plan_waivers import unused_waivers, waiver_json

    color = _color(no_color)
    file, topology = source
    if apply is not None and not 1 <= apply <= len(plans):
        raise Fatal(f"--apply {apply}: there are {len(plans)} {what}s")
    shown = tuple(plans) if apply is None else (plans[apply - 1],)
    unused = {p.rank: waiver_json(topology, unused_waivers(topology, p.final_state)) for p in shown}
    if apply is not None:
        _apply_plan(shown[0], what, file, topology, output, phase, sink)
        sys.stdout.write(render(color, shown, unused))
    else:
        _emit(render(color and not output, shown, unused), output, sink)
    if not optimal:
        raise typer.Exit(3)
    raise typer.Exit(0 if complete else 1)


def _apply_plan(plan, what: str, file: str, topology, output: str, phase: str, sink) -> None:
    """`--apply`: the plan's state after `phase`, without the waivers it makes unused, written
    into the user's file text where it can be (io/roundtrip.py), else as `dump` writes it."""
    from pathlib import Path

    from dpmsmt.io.dump import dump
    from dpmsmt.io.roundtrip import patch
    from dpmsmt.plan_waivers import describe, unused_waivers, without_waivers

    state = plan.final_state
    if phase == "immediate":
        state = getattr(plan, "immediate_state", None) or plan.final_state
    dropped = unused_waivers(topology, state)
    state = without_waivers(state, dropped) if dropped else state
    text = None
    if not file.lower().endswith(".json") and os.path.isfile(file):
        try:
            text = patch(Path(file).read_bytes().decode("utf-8-sig"), topology, state)
        except (OSError, UnicodeDecodeError):
            text = None
    sink.write(output, text if text is not None else dump(state))
    kept = (
        "; comments and layout kept"
        if text is not None
        else " in dpmsmt's own layout (the input file's comments and layout could not be kept)"
    )
    sys.stderr.write(f"dpmsmt: wrote {what} {plan.rank}'s {phase} state to {output}{kept}\n")
    for position in dropped:
        sys.stderr.write(
            f"dpmsmt: left out {describe(topology, position)}: "
            f"it matches nothing after {what} {plan.rank}\n"
        )


def render_design(
    result, fmt: PlanFormat, *, color: bool, plan=1, topology=None, unused=None
) -> str:
    from dpmsmt.render import design as design_render

    if fmt is PlanFormat.ps1:
        from dpmsmt.render.ps1 import render_ps1

        return render_ps1(
            result.designs[plan - 1],
            topology,
            command="design",
            plans=len(result.designs),
            optimal=result.optimal,
        )
    if fmt is PlanFormat.text:
        return design_render.render_text(result, color=color, unused=unused)
    if fmt is PlanFormat.json:
        return design_render.render_json(result, unused=unused)
    if fmt is PlanFormat.yaml:
        return design_render.render_yaml(result, unused=unused)
    assert_never(fmt)


@app.command("design")
def design_command(
    file: Annotated[str, typer.Argument(help="The topology file.")],
    for_: Annotated[
        list[str] | None,
        typer.Option(
            "--for", help="Design a secondary for this DPM server (repeat); default: all."
        ),
    ] = None,
    allow_new: Annotated[
        int, typer.Option("--allow-new", help="Up to K new DPM servers (NEW-DPM-k).")
    ] = 0,
    allow_cycles: Annotated[
        bool, typer.Option("--allow-cycles", help="Allow cycles longer than two.")
    ] = False,
    top: Annotated[int, typer.Option(help="How many designs.")] = 3,
    apply: Annotated[
        int | None, typer.Option("--apply", help="Write design N's final state to --output.")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Where --apply writes (or the report).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --output file.")] = False,
    format: Annotated[PlanFormat, typer.Option("--format", "-f", help="Report format.")] = (
        PlanFormat.text
    ),
    plan: Annotated[int, typer.Option("--plan", help="The design --format ps1 writes.")] = 1,
    timeout: Annotated[float, typer.Option(help="Solver time limit in seconds.")] = 60.0,
    profile: Annotated[
        str | None, typer.Option(help="Override the file's profile (strict, 2012 … 2025).")
    ] = None,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour.")] = False,
) -> None:
    """Choose a secondary for every DPM server without one, so that the estate passes check."""
    import dataclasses

    from dpmsmt.design import DesignError
    from dpmsmt.design import design as run_design

    chosen_profile = _profile(profile)
    if allow_new < 0:
        raise Fatal("--allow-new: at least 0")
    _check_timeout(timeout)
    _plan_options(top, apply, output)
    sink = _outputs([file], force, output=output)
    topology = _load(file)
    try:
        result = run_design(
            topology,
            for_=_split(for_, "--for"),
            allow_new=allow_new,
            allow_cycles=allow_cycles,
            top=top,
            profile=chosen_profile,
            timeout=timeout,
        )
    except DesignError as e:
        raise Fatal(str(e)) from None
    _runbook_plan(result.designs, plan, "design", format, optimal=result.optimal)
    _finish_plans(
        result.designs,
        "design",
        lambda color, shown, unused: render_design(
            dataclasses.replace(result, designs=shown),
            format,
            color=color,
            plan=plan if apply is None else 1,
            topology=topology,
            unused=unused,
        ),
        apply=apply,
        output=output,
        sink=sink,
        no_color=no_color,
        optimal=result.optimal,
        complete=result.complete,
        source=(file, topology),
    )


class GraphFormat(StrEnum):
    dot = "dot"
    mermaid = "mermaid"
    svg = "svg"


def _graphviz_svg(dot_text: str) -> str:
    """`dot -Tsvg` on `dot_text` (stdin); a missing or failing Graphviz is a Fatal (exit 2)."""
    import shutil
    import subprocess

    exe = shutil.which("dot")
    if exe is None:
        raise Fatal("--format svg needs Graphviz's `dot` on the PATH (apt install graphviz)")
    try:
        done = subprocess.run(
            [exe, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True, timeout=300
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise Fatal(f"Graphviz's `dot` failed: {e}") from None
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise Fatal(f"Graphviz's `dot` failed: {why[0] if why else f'exit {done.returncode}'}")
    return done.stdout.decode("utf-8", "replace")


@app.command()
def graph(
    file: Annotated[str, typer.Argument(help="The topology file.")],
    before: Annotated[
        str | None,
        typer.Option(help="The topology before the change: moved servers and change rules."),
    ] = None,
    format: Annotated[GraphFormat, typer.Option("--format", "-f", help="Picture format.")] = (
        GraphFormat.dot
    ),
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write the picture there (atomically).")
    ] = None,
    max_servers: Annotated[
        int | None,
        typer.Option(
            help="Draw more protected servers than this under one DPM server as one node "
            "(default 12; 0, the overview, for estates of more than 36 protected servers)."
        ),
    ] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --output file.")] = False,
) -> None:
    """Draw the estate: DPM servers, protection edges, protected servers, violations in red."""
    import shutil

    from dpmsmt.check import check as run_check
    from dpmsmt.render.dot import default_max_servers, render_dot, render_mermaid

    if max_servers is not None and max_servers < 0:
        raise Fatal(f"--max-servers: at least 0, not {max_servers}")
    if format is GraphFormat.svg and shutil.which("dot") is None:  # before any solving
        raise Fatal("--format svg needs Graphviz's `dot` on the PATH (apt install graphviz)")
    sink = _outputs([file, before], force, output=output)
    _one_stdin(file, before)
    topology = _load(file)
    previous = _load(before) if before else None
    report = run_check(topology, before=previous)
    if max_servers is None:
        max_servers, note = default_max_servers(topology)
        if note:
            sys.stderr.write(f"dpmsmt: note: {note}\n")
    if format is GraphFormat.mermaid:
        text = render_mermaid(topology, report, previous, max_servers=max_servers)
    else:
        text = render_dot(topology, report, previous, max_servers=max_servers)
        if format is GraphFormat.svg:
            text = _graphviz_svg(text)
    _emit(text, output, sink)


@app.command()
def report(
    file: Annotated[str, typer.Argument(help="The topology file.")],
    output: Annotated[
        str, typer.Option("--output", "-o", help="Write the HTML page there (atomically).")
    ],
    before: Annotated[
        str | None, typer.Option(help="The topology before the change: what moved, change rules.")
    ] = None,
    failures: Annotated[
        int | None,
        typer.Option("--failures", "-k", help="Add resilience: every set of at most K failing."),
    ] = None,
    fail: Annotated[
        list[str] | None,
        typer.Option("--fail", help="Add the recovery runbook for this DPM server (repeat)."),
    ] = None,
    today: Annotated[
        str | None, typer.Option(help="The report's date: waivers expire against it.")
    ] = None,
    baseline: Annotated[
        str | None, typer.Option(help="Mark the findings recorded in this baseline file.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing --output file.")] = False,
    jobs: Annotated[
        int | None, typer.Option("--jobs", "-j", help="Worker processes for --failures.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Solver time limit in seconds.")] = 60.0,
) -> None:
    """Write one self-contained HTML page: verdict, estate, findings, resilience, recovery."""
    from dpmsmt.render.html import render_html
    from dpmsmt.report import collect

    if failures is not None and failures < 1:
        raise Fatal("--failures: at least 1")
    if jobs is not None and jobs < 1:
        raise Fatal("--jobs: at least 1")
    _check_timeout(timeout)
    _one_stdin(file, before, baseline)
    sink = _outputs([file, before, baseline], force, output=output)
    date = _today(today) or _dt.date.today()
    accepted = _read_baseline(baseline) if baseline else None
    topology = _load(file)
    previous = _load(before) if before else None
    try:
        model = collect(
            topology,
            today=date,
            before=previous,
            failures=failures,
            fail=_split(fail, "--fail"),
            baseline=accepted,
            timeout=timeout,
            jobs=jobs,
            runbook_script=lambda suggestion: _report_script(suggestion, topology),
        )
    except UsageError as e:
        raise Fatal(str(e)) from None
    svg, note = _report_svg(topology, model, previous)
    sink.write(output, render_html(model, svg=svg, svg_note=note))
    sys.stderr.write(f"dpmsmt: wrote the report of {file} to {output}\n")


def _report_script(suggestion, topology) -> str:
    """The report's recovery plan as `suggest-move --format ps1` writes it, without the byte
    order mark (the page is text, not a file to save)."""
    from dpmsmt.render.ps1 import render_ps1

    return render_ps1(
        suggestion.plans[0],
        topology,
        plans=len(suggestion.plans),
        failed=suggestion.failed,
        removed=suggestion.removed,
        optimal=suggestion.optimal,
        bom=False,
    )


def _report_svg(topology, model, previous) -> tuple[str | None, str | None]:
    """The estate's picture (`graph --format svg`) for the report, or why there is none:
    without Graphviz the page still works."""
    import shutil

    from dpmsmt.render.dot import render_dot
    from dpmsmt.report import GRAPH_MAX_SERVERS

    if not model.drawn:
        return None, None
    if shutil.which("dot") is None:
        why = "Graphviz's `dot` is not installed, so the picture is left out"
        return None, f"{why}; the table lists every DPM server."
    try:
        dot_text = render_dot(topology, model.check, previous, max_servers=GRAPH_MAX_SERVERS)
        return _graphviz_svg(dot_text), None
    except Fatal as e:
        return None, f"The picture is left out: {e}"


class ResilienceFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
def resilience(
    file: Annotated[str, typer.Argument(help="The topology file.")],
    failures: Annotated[
        int, typer.Option("--failures", "-k", help="Every set of at most K DPM servers failing.")
    ] = 1,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            help="Worker processes (default: from the work; one process unless the failure "
            "sets left would take it more than about 20 s, then every CPU).",
        ),
    ] = None,
    format: Annotated[ResilienceFormat, typer.Option("--format", "-f", help="Report format.")] = (
        ResilienceFormat.text
    ),
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write the report there (atomically).")
    ] = None,
    timeout: Annotated[
        float, typer.Option(help="Solver time limit in seconds, per failure set.")
    ] = 60.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colour.")] = False,
    force: Annotated[bool, typer.Option(help="Replace an existing --output file.")] = False,
) -> None:
    """The best recovery plan for every set of at most K DPM servers failing at once."""
    from dpmsmt.render import resilience as render
    from dpmsmt.resilience import resilience as run

    if failures < 1:
        raise Fatal("--failures: at least 1")
    if jobs is not None and jobs < 1:
        raise Fatal("--jobs: at least 1")
    _check_timeout(timeout)
    sink = _outputs([file], force, output=output)
    topology = _load(file)
    if sys.stderr.isatty() and not quiet:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

        with Progress(
            "failure sets",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as bar:
            task = bar.add_task("resilience", total=None)
            result = run(
                topology,
                failures=failures,
                jobs=jobs,
                timeout=timeout,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    else:
        result = run(topology, failures=failures, jobs=jobs, timeout=timeout)
    if format is ResilienceFormat.json:
        text = render.render_json(result)
    else:
        text = render.render_text(result, color=_color(no_color) and not output)
    _emit(text, output, sink)
    raise typer.Exit(result.exit_code())


@app.command()
def validate(file: Annotated[str, typer.Argument(help="The topology file.")]) -> None:
    """Only read the file: exit 0 when it is a well-formed topology, 2 otherwise."""
    topology = _load(file)
    n = sum(len(s.datasources) for s in topology.servers.values())
    sys.stdout.write(
        f"{file}: ok ({len(topology.dpm_servers)} DPM servers, {len(topology.servers)} "
        f"protected servers, {n} data sources)\n"
    )


@app.command()
def schema(
    export: Annotated[
        bool, typer.Option("--export", help="The schema of an Export-DpmTopology.ps1 export.")
    ] = False,
) -> None:
    """Print the JSON Schema of the topology file format (for editors)."""
    if export:
        from dpmsmt.importer.schema import export_schema as make_schema
    else:
        from dpmsmt.io.schema import schema as make_schema

    sys.stdout.write(json.dumps(make_schema(), indent=2, sort_keys=True) + "\n")


class ImportFormat(StrEnum):
    text = "text"
    json = "json"


@app.command("import")
def import_command(
    exports: Annotated[
        list[str], typer.Argument(metavar="EXPORT...", help="Export-DpmTopology.ps1 files.")
    ],
    overlay: Annotated[
        str | None, typer.Option(help="A partial topology whose values win over the exports.")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Write the topology there (atomically).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing --output file.")] = False,
    format: Annotated[
        ImportFormat, typer.Option("--format", "-f", help="Report format (json needs --output).")
    ] = ImportFormat.text,
    profile: Annotated[
        str | None, typer.Option(help="The profile to write (default: from the DPM versions).")
    ] = None,
) -> None:
    """Merge the exports of Export-DpmTopology.ps1 (one per DPM server) into a topology file."""
    from dpmsmt.importer import import_exports

    chosen_profile = _profile(profile)
    if format is ImportFormat.json and not output:
        raise Fatal("--format json writes the report to standard output; give --output FILE")
    if output and overlay and os.path.abspath(output) == os.path.abspath(overlay):
        raise Fatal(f"--output {output} is the overlay; the overlay is never overwritten")
    if output and output.lower().endswith(".json"):
        raise Fatal(f"--output {output}: the import writes YAML (its comments mark the guesses)")
    sink = _outputs([*exports, overlay], force, output=output)
    topology, text, report = import_exports(
        exports, overlay, profile=chosen_profile, file=output or "<stdout>", read_back=True
    )
    for line in report.warnings:
        sys.stderr.write(f"dpmsmt: warning: {line}\n")
    for d in report.disagreements:
        sys.stderr.write(f"dpmsmt: warning: {d}\n")
    _emit(text, output, sink)
    n = sum(len(s.datasources) for s in topology.servers.values())
    summary = {
        "schema": "dpmsmt/1",
        "command": "import",
        "output": output,
        "dpm_servers": len(topology.dpm_servers),
        "servers": len(topology.servers),
        "datasources": n,
        **report.to_json(),
    }
    if format is ImportFormat.json:
        sys.stdout.write(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    else:
        sys.stderr.write(
            f"dpmsmt: imported {len(report.exports)} export(s): {len(topology.dpm_servers)} DPM "
            f"servers, {len(topology.servers)} protected servers, {n} data sources, "
            f"{len(report.guessed)} guessed value(s), {len(report.disagreements)} "
            f"disagreement(s){f' -> {output}' if output else ''}\n"
        )


@app.command()
def rules(
    rule_id: Annotated[str | None, typer.Argument(metavar="ID", help="One rule id.")] = None,
    format: Annotated[
        str, typer.Option("--format", "-f", help="text, json or markdown (docs/rules.md).")
    ] = "text",
) -> None:
    """List the rule catalogue, or print one rule with its formal reading and sources."""
    from dpmsmt.render.catalogue import render_catalogue, render_rule
    from dpmsmt.rules import all_rules, get

    if format not in ("text", "json", "markdown"):
        raise Fatal(f"--format: expected text, json or markdown, not {format!r}")
    if rule_id is None:
        sys.stdout.write(render_catalogue(all_rules(), fmt=format))
        return
    try:
        rule = get(rule_id.upper())
    except KeyError:
        raise Fatal(f"unknown rule id {rule_id} (see `dpmsmt rules`)") from None
    sys.stdout.write(render_rule(rule, fmt=format))


INTERNAL_ERROR = 4


def _fatal(message: str, code: int = 2) -> NoReturn:
    """One line, whatever the message holds: text from a file (a name with a newline or an
    escape sequence, a 10 MB name) is escaped and cut, so no line can be forged."""
    from dpmsmt.io.names import shown

    sys.stderr.write(f"dpmsmt: error: {shown(message, 2000)}\n")
    sys.exit(code)


def _debug_flag(args: list[str]) -> tuple[list[str], bool]:
    """`--debug` anywhere before `--` (or DPMSMT_DEBUG=1): an internal error shows its
    traceback. Taken out of the arguments here, so that every command accepts it."""
    end = args.index("--") if "--" in args else len(args)
    debug = "--debug" in args[:end]
    if debug:
        args = [a for i, a in enumerate(args) if i >= end or a != "--debug"]
    return args, debug or os.environ.get("DPMSMT_DEBUG", "") not in ("", "0")


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every failure becomes one line and an exit code, never a traceback.
    Exit 4 is a bug in dpmsmt (never 1, which means "the answer is no")."""
    args, debug = _debug_flag(list(sys.argv[1:] if argv is None else argv))
    from dpmsmt.cli_help import bad_value_message, tidy

    command = typer.main.get_command(app)
    tidy(command)
    try:
        code = command.main(args=args, prog_name="dpmsmt", standalone_mode=False)
    except TopologyError as e:
        _fatal(str(e.first))
    except (Fatal, OutputError) as e:
        _fatal(str(e))
    except SolverGaveUp as e:
        _fatal(str(e), 3)
    except click.NoArgsIsHelpError:
        sys.exit(0)  # typer has printed the help
    except click.BadParameter as e:
        _fatal(bad_value_message(e) or e.format_message().replace("\n", " "))
    except click.UsageError as e:
        _fatal(e.format_message().replace("\n", " "))
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        _fatal("interrupted", 130)
    except Terminated as e:
        _fatal(f"terminated by signal {e.signum}", 128 + e.signum)
    except click.ClickException as e:
        _fatal(e.format_message().replace("\n", " "))
    except BrokenPipeError:
        sys.exit(0)
    except Exception as e:  # a bug: one line and exit 4; the traceback with --debug
        if debug:
            import traceback

            traceback.print_exc()
        _fatal(
            f"internal error: {type(e).__name__}: {e} (a bug in dpmsmt; "
            + ("please report it with the traceback above)" if debug else "--debug shows where)"),
            INTERNAL_ERROR,
        )
    sys.exit(code if isinstance(code, int) else 0)
