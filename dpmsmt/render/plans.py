"""suggest-move output: plans as JSON/YAML documents or as text an administrator can follow."""

from __future__ import annotations

from dpmsmt.render.json import SCHEMA
from dpmsmt.render.lines import first_ids, text_lines
from dpmsmt.runbook import describe

__all__ = [
    "describe_action",
    "plan_heading",
    "preamble",
    "render_text",
    "suggestion_json",
    "unused_line",
]


def with_unused(plan_json: dict, rank: int, unused: dict | None) -> dict:
    """A plan's JSON with `unused_waivers` (the waivers it makes unused) where they are known."""
    if unused is not None:
        plan_json["unused_waivers"] = list(unused.get(rank, []))
    return plan_json


def preamble(line, heading: list, aside, nothing) -> None:
    """The first lines of suggest-move's and design's text: what was asked, then, where given,
    what does not block (dim) and that nothing was found (red)."""
    line(*heading)
    if aside:
        line((aside, "dim"))
    if nothing:
        line((nothing, "bold red"))


def plan_heading(line, title: str, complete: bool, cost: str) -> None:
    """A blank line, then `Plan 1 (complete): cost` (suggest-move and design)."""
    status = ("complete", "green") if complete else ("partial", "red")
    line()
    line((title, "bold"), " (", status, f"): {cost}")


def unused_line(line, entries: list[dict]) -> None:
    """`makes unused: waiver 0 (RULE on TARGET); --apply leaves them out`."""
    if not entries:
        return
    names = ", ".join(
        f"waiver {w['waiver']} ({w['rule']}" + (f" on {w['target']}" if w["target"] else "") + ")"
        for w in entries
    )
    line("  ", ("makes unused", "yellow"), f": {names} (--apply leaves them out)")


def suggestion_json(s, command: str = "suggest-move", unused: dict | None = None) -> dict:
    return {
        "schema": SCHEMA,
        "command": command,
        "file": s.file,
        "failed": list(s.failed),
        "removed": list(s.removed),
        "preexisting": list(s.preexisting),
        "optimal": s.optimal,
        "plans": [with_unused(p.to_json(), p.rank, unused) for p in s.plans],
    }


def render_text(s, *, color: bool = False, unused: dict | None = None) -> str:
    buf, line = text_lines(color)

    failed = ", ".join(s.failed) or "none"
    removed = ", ".join(s.removed) or "none"
    n = len(s.preexisting)
    preamble(
        line,
        [(s.file, "bold"), f": failed {failed}; removed {removed}"],
        n and f"{n} error(s) the estate had before the failure do not block a plan",
        not s.plans and "no plan found",
    )
    for p in s.plans:
        plan_heading(
            line, f"Plan {p.rank}", p.complete, ", ".join(f"{k} {v}" for k, v in p.cost.items())
        )
        for phase, actions in (("now ", p.immediate), ("then", p.final)):
            for a in actions:
                line("  ", (phase, "cyan"), " ", describe_action(a))
                for step in a.steps:
                    line(f"        - {step}")
        for key, values in p.loses.items():
            if values:
                label = f"loses {key.replace('_', ' ')}"
                line("  ", (label, "yellow"), f" ({len(values)}): ", first_ids(values))
        for ds, rules in p.blocked_by.items():
            why = ", ".join(rules) or "no allowed action applies"
            line("  ", ("unprotected", "red"), f" {ds}: blocked by {why}")
        unused_line(line, (unused or {}).get(p.rank, []))
    if not s.optimal:
        line()
        line(
            (
                "these plans are not proved the best: the solver's time limit was reached"
                if s.plans
                else "that no plan exists is not proved: the solver's time limit was reached, "
                "or the proof by check refused every plan the search found",
                "yellow",
            )
        )
    return buf.getvalue()


def describe_action(a) -> str:
    """An action in the words of the text report (the HTML report says it the same way): the
    runbook's words, except that a reassignment names what it replaces even when nothing is
    known (`instead of None`, as this report has always said it)."""
    if a.action == "reassign-secondary" and not a.from_:
        return f"make {a.to} the secondary of {a.dpm} (instead of {a.from_})"
    return describe(a)
