"""`dpmsmt rules`: the catalogue as text or JSON, from the rules' own records."""

from __future__ import annotations

from dpmsmt.model import PROFILES
from dpmsmt.render.json import SCHEMA, dumps
from dpmsmt.rules import Rule
from dpmsmt.sources import SOURCES


def severities(rule: Rule) -> dict[str, str | None]:
    return {p: (s.label if s else None) for p, s in rule.severity.items()}


def severity_text(rule: Rule) -> str:
    """`error (strict, 2012) / warning (2016+)` in the spirit of rules.md."""
    groups: dict[str, list[str]] = {}
    for p in PROFILES:
        s = rule.severity.get(p)
        groups.setdefault(s.label if s else "not reported", []).append(p)
    if len(groups) == 1:
        text = next(iter(groups))
    else:
        text = " / ".join(f"{label} ({', '.join(ps)})" for label, ps in groups.items())
    if rule.severe_severity is not None:
        text += f"; {rule.severe_severity.label} where broken severely"
    return text


def rule_json(rule: Rule) -> dict:
    return {
        "id": rule.id,
        "family": rule.family,
        "statement": rule.statement,
        "formal": rule.formal,
        "severity": severities(rule),
        "sources": [{"id": s, **SOURCES.get(s, {})} for s in rule.sources],
        "confidence": rule.confidence,
        "change": rule.change,
    }


def render_catalogue(rules, *, fmt: str = "text") -> str:
    if fmt == "json":
        return dumps({"schema": SCHEMA, "command": "rules", "rules": [rule_json(r) for r in rules]})
    lines = []
    for r in rules:
        lines.append(f"{r.id}  [{severity_text(r)}]")
        lines.append(f"    {r.statement}")
    return "\n".join(lines) + "\n"


def render_rule(rule: Rule, *, fmt: str = "text") -> str:
    if fmt == "json":
        return dumps({"schema": SCHEMA, "command": "rules", "rules": [rule_json(rule)]})
    out = [
        rule.id,
        f"  severity:   {severity_text(rule)}",
        f"  statement:  {rule.statement}",
        f"  formal:     {rule.formal}",
        f"  confidence: {rule.confidence}",
        "  sources:",
    ]
    for s in rule.sources or ("—",):
        src = SOURCES.get(s)
        out.append(f"    {s}: {src['title']} {src.get('url', '')}".rstrip() if src else f"    {s}")
    why = rule.why
    if why:
        out.append("  why:")
        out.extend(f"    {line.strip()}" for line in why.splitlines() if line.strip())
    details = rule.details()
    if details:
        out.append("  table:")
        out.extend(f"    {line}" for line in details)
    return "\n".join(out) + "\n"
