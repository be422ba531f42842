"""Text output: findings that count grouped by rule under their severity, waived and baselined
ones apart (a grey count, or a grey section with `--show-waived`), then a one-line summary.

Why apart: a waived or baselined finding does not count towards the exit code, so it must not
stand under a red `error` heading; the summary counts exactly what the headings show.
"""

from __future__ import annotations

from itertools import groupby

from dpmsmt.findings import Finding, Report, Severity
from dpmsmt.render.lines import text_lines

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
    """`width` is kept for callers; lines are never wrapped (soft wrap), as before."""
    buf, line = text_lines(color)
    counted, waived, baselined = _split(report)
    for (severity, rule_id), items in groupby(counted, key=lambda f: (f.severity, f.rule)):
        label = severity.label
        _print_group(line, [(label, _STYLE[label]), " ", (rule_id, "bold")], list(items))
    for what, aside in (("waived", waived), ("baselined", baselined)):
        if aside and show_waived:
            for (severity, rule_id), items in groupby(aside, key=lambda f: (f.severity, f.rule)):
                heading = [(f"{what}: {severity.label} {rule_id}", _SET_ASIDE)]
                _print_group(line, heading, list(items), style=_SET_ASIDE)
    if (waived or baselined) and not show_waived:
        hidden = " and ".join(
            f"{len(items)} {what}"
            for what, items in (("waived", waived), ("baselined", baselined))
            if items
        )
        noun = "finding" if len(waived) + len(baselined) == 1 else "findings"
        line((f"{hidden} {noun} not shown (--show-waived lists them)", _SET_ASIDE))
        line()
    style = "bold red" if any(f.severity is Severity.ERROR for f in counted) else "bold green"
    line((summary(report), style))
    return buf.getvalue()


def _print_group(line, heading: list, items: list[Finding], style: str = "") -> None:
    line(*heading, f" ({len(items)})")
    for f in items:
        loc = f"{f.location.file}:{f.location.line}:{f.location.column}"
        why = (f" (waived: {f.waiver_reason or ''})", "dim") if f.waived else ""
        line("  ", (loc, "dim"), " ", (f.message, style), why)
        for option in f.options:
            line("      ", ("option:", "green"), " ", option)
    line()
