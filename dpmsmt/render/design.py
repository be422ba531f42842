"""design output: designs as JSON/YAML documents (suggest-move's shape) or as text to follow."""

from __future__ import annotations

from dpmsmt.render.json import SCHEMA
from dpmsmt.render.lines import text_lines
from dpmsmt.render.plans import plan_heading, preamble, unused_line, with_unused

__all__ = ["design_json", "render_text"]

_COSTS = ("unassigned", "longest_chain", "max_load", "new_servers")


def design_json(result, unused: dict | None = None) -> dict:
    """The JSON document of a `DesignResult` (cli.md: as suggest-move, `"command": "design"`)."""
    return {
        "schema": SCHEMA,
        "command": "design",
        "file": result.file,
        "profile": result.profile,
        "for": list(result.needs),
        "allow_new": result.allow_new,
        "allow_cycles": result.allow_cycles,
        "preexisting": list(result.preexisting),
        "optimal": result.optimal,
        "plans": [with_unused(d.to_json(), d.rank, unused) for d in result.designs],
    }


def render_text(result, *, color: bool = False, unused: dict | None = None) -> str:
    buf, line = text_lines(color)

    if not result.needs:
        line(
            (result.file, "bold"),
            ": nothing to design: every up DPM server with protected data sources has a secondary",
        )
        return buf.getvalue()
    names = ", ".join(result.needs)
    n = len(result.preexisting)
    preamble(
        line,
        [(result.file, "bold"), f": a secondary for {names} (profile {result.profile})"],
        n and f"{n} finding(s) the estate already has do not block a design",
        not result.designs and "no design found",
    )
    for d in result.designs:
        cost = ", ".join(f"{k.replace('_', ' ')} {d.cost[k]}" for k in _COSTS if k in d.cost)
        plan_heading(line, f"Design {d.rank}", d.complete, cost)
        for name, version in d.new_servers:
            line("  ", ("new ", "cyan"), f"{name}: a new DPM server, DPM {version}")
        for a in d.actions:
            count = len(a.datasources)
            replicas = f" (protecting {count} replica{'s' if count != 1 else ''})" if count else ""
            line("  ", (a.to, "cyan"), f" becomes the secondary of {a.dpm}{replicas}")
            for step in a.steps:
                line(f"        - {step}")
        for y in d.unassigned:
            rules = d.blocked_by.get(y, [])
            why = (
                ", ".join(rules)
                if rules
                else "no candidate left (no other up DPM server, or --allow-new used up)"
            )
            line("  ", ("no secondary", "red"), f" for {y}: blocked by {why}")
        unused_line(line, (unused or {}).get(d.rank, []))
    if not result.optimal:
        line()
        line(("the solver's time limit was reached: these designs may not be the best", "yellow"))
    return buf.getvalue()
