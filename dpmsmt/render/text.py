"""Text output: findings that count grouped by rule under their severity, waived and baselined
ones apart (a grey count, or a grey section with `--show-waived`), then a one-line summary.

Why apart: a waived or baselined finding does not count towards the exit code, so it must not
stand under a red `error` heading; the summary counts exactly what the headings show.
"""

from __future__ import annotations

import io
from itertools import groupby

from rich.console import Console
from rich.text import Text

from dpmsmt.findings import Finding, Report, Severity

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}
_SET_ASIDE = "bright_black"  # grey: present, but counting for nothing


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1 and word != 'info')}"


def _split(report: Report) -> tuple[list[Finding], list[Finding], list[Finding]]:
    """(findings that count, waived ones, baselined ones), each in report order."""
    counted = [f for f in report.findings if not f.waived and not f.baselined]
    waived = [f for f in report.findings if f.waived]
    baselined = [f for f in report.findings if f.baselined and not f.waived]
    return counted, waived, baselined


def verdict(report: Report) -> str:
    """The report's verdict, said so that it agrees with the errors shown: errors accepted by a
    baseline still make the estate invalid, but none of them is new."""
    counted, _, _ = _split(report)
    if report.verdict == "invalid" and not any(f.severity is Severity.ERROR for f in counted):
        return "invalid (only errors the baseline accepts)"
    return report.verdict


def summary(report: Report) -> str:
    counted, waived, baselined = _split(report)
    by = {s: sum(f.severity is s for f in counted) for s in Severity}
    parts = [
        _plural(by[Severity.ERROR], "error"),
        _plural(by[Severity.WARNING], "warning"),
        _plural(by[Severity.INFO], "info"),
    ]
    aside = [f"{len(waived)} waived"] * bool(waived) + [f"{len(baselined)} baselined"] * bool(
        baselined
    )
    rest = f"; {', '.join(aside)}" if aside else ""
    what = f"{report.file}" + (f" (after {report.before})" if report.before else "")
    return f"{what}: {verdict(report)} under profile {report.profile}: {', '.join(parts)}{rest}"


def render(
    report: Report, *, color: bool = False, width: int = 100, show_waived: bool = False
) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=color,
        no_color=not color,
        width=width,
        highlight=False,
        soft_wrap=True,
    )
    counted, waived, baselined = _split(report)
    for (severity, rule_id), items in groupby(counted, key=lambda f: (f.severity, f.rule)):
        label = severity.label
        heading = Text.assemble((label, _STYLE[label]), " ", (rule_id, "bold"))
        _print_group(console, heading, list(items))
    for what, aside in (("waived", waived), ("baselined", baselined)):
        if aside and show_waived:
            for (severity, rule_id), items in groupby(aside, key=lambda f: (f.severity, f.rule)):
                heading = Text(f"{what}: {severity.label} {rule_id}", style=_SET_ASIDE)
                _print_group(console, heading, list(items), style=_SET_ASIDE)
    if (waived or baselined) and not show_waived:
        hidden = " and ".join(
            f"{len(items)} {what}"
            for what, items in (("waived", waived), ("baselined", baselined))
            if items
        )
        noun = "finding" if len(waived) + len(baselined) == 1 else "findings"
        console.print(
            Text(f"{hidden} {noun} not shown (--show-waived lists them)", style=_SET_ASIDE)
        )
        console.print()
    style = "bold red" if any(f.severity is Severity.ERROR for f in counted) else "bold green"
    console.print(Text(summary(report), style=style))
    return buf.getvalue()


def _print_group(console: Console, heading: Text, items: list[Finding], style: str = "") -> None:
    console.print(Text.assemble(heading, f" ({len(items)})"))
    for f in items:
        loc = f"{f.location.file}:{f.location.line}:{f.location.column}"
        why = (f" (waived: {f.waiver_reason or ''})", "dim") if f.waived else ""
        console.print(Text.assemble("  ", (loc, "dim"), " ", (f.message, style), why))
        for option in f.options:
            console.print(Text.assemble("      ", ("option:", "green"), " ", option))
    console.print()
