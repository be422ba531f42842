"""Text output: findings grouped by rule, then a one-line summary; coloured on a terminal."""

from __future__ import annotations

import io
from itertools import groupby

from rich.console import Console
from rich.text import Text

from dpmsmt.findings import Report

_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def summary(report: Report) -> str:
    c = report.counts()
    parts = [
        f"{c['error']} error{'s' * (c['error'] != 1)}",
        f"{c['warning']} warning{'s' * (c['warning'] != 1)}",
        f"{c['info']} info",
    ]
    waived = f", {c['waived']} waived" if c["waived"] else ""
    what = f"{report.file}" + (f" (after {report.before})" if report.before else "")
    return f"{what}: {report.verdict} under profile {report.profile}: {', '.join(parts)}{waived}"


def render(report: Report, *, color: bool = False, width: int = 100) -> str:
    buf = io.StringIO()
    console = Console(
        file=buf,
        force_terminal=color,
        no_color=not color,
        width=width,
        highlight=False,
        soft_wrap=True,
    )
    for rule, items in groupby(report.findings, key=lambda f: (f.severity, f.rule)):
        items = list(items)
        severity, rule_id = rule
        label = severity.label
        console.print(
            Text.assemble((label, _STYLE[label]), " ", (rule_id, "bold"), f" ({len(items)})")
        )
        for f in items:
            loc = f"{f.location.file}:{f.location.line}:{f.location.column}"
            waived = (f" (waived: {f.waiver_reason or ''})", "dim") if f.waived else ""
            console.print(Text.assemble("  ", (loc, "dim"), " ", f.message, waived))
            for option in f.options:
                console.print(Text.assemble("      ", ("option:", "green"), " ", option))
        console.print()
    style = "bold red" if report.verdict == "invalid" else "bold green"
    console.print(Text(summary(report), style=style))
    return buf.getvalue()
