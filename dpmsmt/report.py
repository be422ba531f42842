"""`dpmsmt report`: collect what the HTML report shows, as plain data, from the core's answers.

The page (render/html.py) only lays this model out. Everything that decides something - what to
do first, which waivers expire soon, which DPM servers the heat map shows, what moved in a
change - is decided here, from `check`, `synthesize` and `resilience`, so that the renderer has
no logic to test and the same input always gives the same model (names sorted case-insensitively,
no clock read: the date is an argument).

Size: the model holds one row per DPM server and per protected server, and one row per finding;
it never holds one row per data source unless a finding names it, so a 200k-data-source estate
gives a model (and a page) of a few megabytes.
"""

from __future__ import annotations

import datetime as _dt
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from dpmsmt.actions import Action
from dpmsmt.findings import Finding, Report, Severity, SolverGaveUp
from dpmsmt.model import Topology, canon
from dpmsmt.render.dot import NOT_NAMES, entity_names
from dpmsmt.sources import SOURCES

__all__ = [
    "EXPIRING_DAYS",
    "GRAPH_MAX_DPM",
    "GRAPH_MAX_SERVERS",
    "HEAT_MAX",
    "ReportModel",
    "collect",
]

EXPIRING_DAYS = 30  # a waiver that expires within this many days of `today` is highlighted
GRAPH_MAX_DPM = 30  # more DPM servers than this: no picture, the overview table only
GRAPH_MAX_SERVERS = 6  # the picture draws more protected servers of a DPM server as one node
HEAT_MAX = 30  # the heat map shows at most this many DPM servers (the most hurt)
FINDINGS_SHOWN = 500  # finding rows per rule; the rest are counted, not listed
LISTED = 50  # names listed in one cell before "… and N more"

# Entity keys whose values are not names (see render/dot.py): never counted against a server.
# Entity keys whose values are not names: the picture's (render/dot.py), and a waiver's own
# rule and target, which the report lists in the waiver's row.
_NOT_NAMES = NOT_NAMES | {"waiver", "target"}


# -- the model -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    id: str
    title: str
    url: str | None


@dataclass(frozen=True)
class FindingRow:
    anchor: str
    rule: str
    severity: str
    message: str
    where: str  # FILE:LINE
    path: str
    entities: tuple[tuple[str, str], ...]
    options: tuple[str, ...]
    waived: bool
    waiver_reason: str | None
    waiver_expires: str | None
    baselined: bool
    fingerprint: str


@dataclass(frozen=True)
class RuleSection:
    id: str
    anchor: str
    severity: str  # the most severe of its unwaived findings (or of all, when all are waived)
    statement: str
    why: str
    sources: tuple[Source, ...]
    findings: tuple[FindingRow, ...]
    hidden: int  # findings not listed (more than FINDINGS_SHOWN)
    counting: int  # unwaived, not baselined
    waived: int
    baselined: int


@dataclass(frozen=True)
class ServerRow:
    name: str
    datasources: int  # data sources whose primary is this DPM server
    errors: int
    warnings: int
    rules: tuple[str, ...]


@dataclass(frozen=True)
class DpmRow:
    name: str
    anchor: str
    version: str
    kind: str
    status: str
    os: str | None
    protects: tuple[str, ...]
    protected_by: tuple[str, ...]
    primary: int  # data sources it protects as primary
    replicas: int  # data sources it holds as a secondary
    errors: int
    warnings: int
    rules: tuple[str, ...]
    servers: tuple[ServerRow, ...]


@dataclass(frozen=True)
class WaiverRow:
    index: int
    rule: str
    target: str | None
    reason: str
    expires: str | None
    state: str  # active | expiring | expired | unused
    days_left: int | None
    waived: int  # findings it waives


@dataclass(frozen=True)
class Step:
    anchor: str | None
    text: str


@dataclass(frozen=True)
class PlanView:
    complete: bool
    cost: tuple[tuple[str, int], ...]
    immediate: tuple[Action, ...]  # the renderer words them as suggest-move's text does
    final: tuple[Action, ...]
    keeps: tuple[tuple[str, str | None, tuple[str, ...]], ...]  # (what, sentence, ids)
    loses: tuple[tuple[str, str | None, tuple[str, ...]], ...]
    unprotected: tuple[str, ...]
    blocked_by: tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class Recovery:
    failed: tuple[str, ...]
    removed: tuple[str, ...]
    optimal: bool
    plan: PlanView | None
    gave_up: str | None = None
    # HOOK(ps1): the plan as a PowerShell script (`suggest-move --format ps1`), shown under the
    # runbook when set. `collect(..., runbook_script=...)` fills it; None: no script section.
    script: str | None = None


@dataclass(frozen=True)
class Cell:
    hurt: int | None  # None: the solver gave up without a plan
    unprotected: int
    history: int
    secondary: int
    level: int  # 0 (nothing lost) … 4 (the most lost in this estate)


@dataclass(frozen=True)
class HeatMap:
    names: tuple[str, ...]
    rows: tuple[tuple[Cell | None, ...], ...]  # rows[i][j]: the set {names[i], names[j]}
    shown_of: int  # how many DPM servers could have been shown


@dataclass(frozen=True)
class SetRow:
    failed: tuple[str, ...]
    complete: bool
    optimal: bool
    unprotected: tuple[str, ...]
    more: int  # unprotected data sources not listed
    history: int
    secondary: int
    actions: int


@dataclass(frozen=True)
class ResilienceView:
    failures: int
    sets: int
    complete: int
    unknown: int
    solved: int
    derived: int
    singles: tuple[SetRow, ...]
    unsafe_sets: tuple[SetRow, ...]  # sets that leave data sources unprotected
    heatmap: HeatMap | None
    weakest: tuple[tuple[str, tuple[tuple[str, int], ...]], ...]
    never_safe: tuple[str, ...]
    single_points: tuple[str, ...]


@dataclass(frozen=True)
class Move:
    datasource: str
    what: str  # primary | secondary | mode
    before: str
    after: str


@dataclass(frozen=True)
class ChangeVerdict:
    rule: str
    anchor: str
    statement: str
    checked: bool  # the rule applies under this profile
    findings: int  # unwaived


@dataclass(frozen=True)
class Change:
    before: str
    moves: tuple[Move, ...]
    more_moves: int
    dpm_changes: tuple[tuple[str, str, str], ...]  # (name, before, after)
    added: int  # data sources only in the after file
    gone: int  # data sources only in the before file
    verdicts: tuple[ChangeVerdict, ...]


@dataclass(frozen=True)
class ReportModel:
    """Everything the page shows, in its order."""

    title: str
    file: str
    profile: str
    today: str
    verdict: str
    counts: dict
    baselined: int
    size: dict
    first: tuple[Step, ...]
    drawn: bool  # the estate is small enough for a picture (render/dot.py of `check`)
    graph_note: str | None  # why there is no picture
    dpms: tuple[DpmRow, ...]
    rules: tuple[RuleSection, ...]
    waivers: tuple[WaiverRow, ...]
    resilience: ResilienceView | None = None
    recovery: Recovery | None = None
    change: Change | None = None
    check: Report | None = field(default=None, compare=False, repr=False)  # for the picture


# -- collecting -----------------------------------------------------------------------------------


def collect(
    topology: Topology,
    *,
    today: _dt.date,
    before: Topology | None = None,
    failures: int | None = None,
    fail: Sequence[str] = (),
    baseline: Iterable[str] | None = None,
    timeout: float | None = 60.0,
    jobs: int | None = None,
    runbook_script: Callable[[object], str] | None = None,
) -> ReportModel:
    """Check the estate (and the change), and where asked its resilience and recovery.

    `runbook_script(suggestion) -> str` (HOOK(ps1)) turns the recovery's suggestion into a
    script shown with the runbook. Raises SolverGaveUp when `check` cannot answer, UsageError for
    a `fail` name that is no DPM server of the file.
    """
    from dpmsmt.check import check

    report = check(topology, before=before, today=today, timeout=timeout)
    if baseline is not None:
        from dpmsmt.baseline import apply_baseline

        report = apply_baseline(report, baseline)
    recovery = _recovery(topology, fail, timeout, runbook_script)
    res = _resilience(topology, failures, jobs, timeout) if failures else None
    dpms = _dpm_rows(topology, report)
    waivers = _waiver_rows(topology, report, today)
    rules = _rule_sections(topology, report)
    n = len(topology.dpm_servers)
    note = None if n <= GRAPH_MAX_DPM else _too_large(n)
    return ReportModel(
        title=topology.name or topology.file,
        file=topology.file,
        profile=report.profile,
        today=today.isoformat(),
        verdict=report.verdict,
        counts=report.counts(),
        baselined=sum(f.baselined for f in report.findings),
        size=_size(topology),
        first=_first_steps(rules, waivers, recovery, res),
        drawn=note is None,
        graph_note=note,
        dpms=dpms,
        rules=rules,
        waivers=waivers,
        resilience=res,
        recovery=recovery,
        change=_change(before, topology, report) if before is not None else None,
        check=report,
    )


def _size(topology: Topology) -> dict:
    return {
        "dpm_servers": len(topology.dpm_servers),
        "protected_servers": len(topology.servers),
        "datasources": sum(len(s.datasources) for s in topology.servers.values()),
        "waivers": len(topology.waivers),
    }


def _sorted(names: Iterable[str]) -> list[str]:
    return sorted(names, key=lambda n: (canon(n), n))


def anchor(kind: str, index: int) -> str:
    """An element id that no name can break (names are shown, never used in ids)."""
    return f"{kind}-{index}"


def rule_anchor(rule: str) -> str:
    return f"rule-{rule}"


# -- findings -------------------------------------------------------------------------------------


def _named(topology: Topology, f: Finding, dpms: dict, servers: dict) -> tuple[set[str], set[str]]:
    """(DPM servers, protected servers) a finding names; a data source counts for its server.
    `dpms` and `servers` map canonical names to names."""
    by_id = topology.datasource_by_id
    out_dpm: set[str] = set()
    out_srv: set[str] = set()
    for text in entity_names(f.entities, _NOT_NAMES):
        key = canon(text)
        if key in dpms:
            out_dpm.add(dpms[key])
        elif key in servers:
            out_srv.add(servers[key])
        elif key in by_id:
            out_srv.add(by_id[key].server)
    return out_dpm, out_srv


def _entity_text(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_entity_text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_entity_text(v) for v in value)
    return "" if value is None else str(value)


def _why(rule) -> str:
    """The rule's reason: the docstring's `Why:` paragraph, else its text after the first line."""
    doc = rule.why
    parts = [p.strip() for p in doc.split("\n\n")]
    for p in parts:
        if p.startswith("Why:"):
            return " ".join(p.removeprefix("Why:").split())
    return " ".join(" ".join(parts[1:]).split()) if len(parts) > 1 else ""


def _sources(ids: Iterable[str]) -> tuple[Source, ...]:
    out = []
    for sid in ids:
        known = SOURCES.get(sid)
        out.append(Source(sid, known["title"] if known else sid, known["url"] if known else None))
    return tuple(out)


def _waiver_expiry(topology: Topology, f: Finding) -> str | None:
    if not f.waived:
        return None
    from dpmsmt.rules.meta.waivers import matches

    for w in topology.waivers:
        if w.reason == f.waiver_reason and matches(w, f):
            return w.expires
    return None


def _rule_sections(topology: Topology, report: Report) -> tuple[RuleSection, ...]:
    from dpmsmt.rules import get

    by_rule: dict[str, list[Finding]] = {}
    for f in report.findings:
        by_rule.setdefault(f.rule, []).append(f)
    sections = []
    n = 0
    for rule_id, items in by_rule.items():
        rule = get(rule_id)
        counting = [f for f in items if not f.waived]
        worst = max(f.severity for f in (counting or items))
        rows = []
        for f in items[:FINDINGS_SHOWN]:
            n += 1
            rows.append(
                FindingRow(
                    anchor=anchor("finding", n),
                    rule=f.rule,
                    severity=f.severity.label,
                    message=f.message,
                    where=f"{f.location.file}:{f.location.line}",
                    path=f.location.path,
                    entities=tuple((k, _entity_text(v)) for k, v in f.entities.items()),
                    options=f.options,
                    waived=f.waived,
                    waiver_reason=f.waiver_reason,
                    waiver_expires=_waiver_expiry(topology, f),
                    baselined=f.baselined,
                    fingerprint=f.fingerprint,
                )
            )
        sections.append(
            RuleSection(
                id=rule_id,
                anchor=rule_anchor(rule_id),
                severity=worst.label,
                statement=rule.statement,
                why=_why(rule),
                sources=_sources(rule.sources),
                findings=tuple(rows),
                hidden=max(0, len(items) - FINDINGS_SHOWN),
                counting=sum(1 for f in counting if not f.baselined),
                waived=len(items) - len(counting),
                baselined=sum(1 for f in counting if f.baselined),
            )
        )
    # most severe first (as check sorts its findings), then by id
    order = {"error": 0, "warning": 1, "info": 2}
    return tuple(sorted(sections, key=lambda s: (s.counting == 0, order[s.severity], s.id)))


# -- the estate -----------------------------------------------------------------------------------


def _dpm_rows(topology: Topology, report: Report) -> tuple[DpmRow, ...]:
    dpm_names = _sorted(topology.dpm_servers)
    primary: Counter[str] = Counter()
    replicas: Counter[str] = Counter()
    held: dict[str, Counter[str]] = {d: Counter() for d in dpm_names}
    for ds in topology.datasources():
        if ds.primary in held:
            primary[ds.primary] += 1
            held[ds.primary][ds.server] += 1
        if ds.secondary in held:
            replicas[ds.secondary] += 1
    marks: dict[str, Counter[Severity]] = {}
    rules: dict[str, set[str]] = {}
    dpm_keys = {canon(n): n for n in topology.dpm_servers}
    server_keys = {canon(n): n for n in topology.servers}
    for f in report.findings:
        if f.waived:
            continue
        dpms, servers = _named(topology, f, dpm_keys, server_keys)
        for name in dpms | servers:
            marks.setdefault(name, Counter())[f.severity] += 1
            rules.setdefault(name, set()).add(f.rule)
    protectors = topology.protectors
    rows = []
    for i, name in enumerate(dpm_names, 1):
        d = topology.dpm_servers[name]
        mine = marks.get(name, Counter())
        servers = tuple(
            ServerRow(
                name=s,
                datasources=held[name][s],
                errors=marks.get(s, Counter())[Severity.ERROR],
                warnings=marks.get(s, Counter())[Severity.WARNING],
                rules=tuple(sorted(rules.get(s, ()))),
            )
            for s in _sorted(held[name])
        )
        rows.append(
            DpmRow(
                name=name,
                anchor=anchor("dpm", i),
                version=d.version,
                kind=d.kind,
                status=d.status,
                os=d.os,
                protects=tuple(_sorted(d.protects)),
                protected_by=tuple(protectors[name]),
                primary=primary[name],
                replicas=replicas[name],
                errors=mine[Severity.ERROR],
                warnings=mine[Severity.WARNING],
                rules=tuple(sorted(rules.get(name, ()))),
                servers=servers,
            )
        )
    return tuple(rows)


def _too_large(n: int) -> str:
    return (
        f"The estate has {n} DPM servers: the picture is drawn up to {GRAPH_MAX_DPM}. "
        "The table below lists every DPM server; open one for its protected servers."
    )


# -- waivers --------------------------------------------------------------------------------------


def _waiver_rows(topology: Topology, report: Report, today: _dt.date) -> tuple[WaiverRow, ...]:
    from dpmsmt.rules.meta.waivers import matches

    unused = {f.entities.get("waiver") for f in report.findings if f.rule == "WAIVER-UNUSED"}
    rows = []
    for i, w in enumerate(topology.waivers):
        days = None
        if w.expires is not None:
            days = (_dt.date.fromisoformat(w.expires) - today).days
        if days is not None and days < 0:
            state = "expired"
        elif i in unused:
            state = "unused"
        elif days is not None and days <= EXPIRING_DAYS:
            state = "expiring"
        else:
            state = "active"
        waived = sum(1 for f in report.findings if f.waived and matches(w, f))
        rows.append(WaiverRow(i, w.rule, w.target, w.reason, w.expires, state, days, waived))
    return tuple(rows)


# -- recovery -------------------------------------------------------------------------------------


def _recovery(topology, fail, timeout, runbook_script) -> Recovery | None:
    from dpmsmt.recovery import synthesize

    down = [n for n, d in topology.dpm_servers.items() if d.status != "up"]
    if not down and not fail:
        return None
    try:
        suggestion = synthesize(topology, failed=list(fail), top=1, timeout=timeout)
    except SolverGaveUp as e:
        failed = tuple(_sorted({*fail, *down}))
        return Recovery(failed, (), False, None, gave_up=str(e))
    plan = suggestion.plans[0] if suggestion.plans else None
    return Recovery(
        failed=suggestion.failed,
        removed=suggestion.removed,
        optimal=suggestion.optimal,
        plan=_plan_view(plan) if plan is not None else None,
        script=runbook_script(suggestion) if runbook_script and plan is not None else None,
    )


def _plan_view(p) -> PlanView:
    def items(d: dict) -> tuple[tuple[str, str | None, tuple[str, ...]], ...]:
        """(what, a sentence, or None and the data source ids) of a keeps/loses record."""
        return tuple(
            (
                k.replace("_", " "),
                v if isinstance(v, str) else None,
                () if isinstance(v, str) else tuple(v),
            )
            for k, v in d.items()
            if v
        )

    return PlanView(
        complete=p.complete,
        cost=tuple((k.replace("_", " "), v) for k, v in p.cost.items()),
        immediate=p.immediate,
        final=p.final,
        keeps=items(p.keeps),
        loses=items(p.loses),
        unprotected=tuple(p.unprotected),
        blocked_by=tuple((ds, tuple(r)) for ds, r in p.blocked_by.items()),
    )


# -- resilience -----------------------------------------------------------------------------------


def _resilience(topology, failures, jobs, timeout) -> ResilienceView:
    from dpmsmt.resilience import resilience

    r = resilience(topology, failures=failures, jobs=jobs, timeout=timeout)
    rows = {s.failed: _set_row(s) for s in r.sets}
    return ResilienceView(
        failures=failures,
        sets=len(r.sets),
        complete=sum(s.complete for s in r.sets),
        unknown=len(r.unknown),
        solved=r.solved,
        derived=r.derived,
        singles=tuple(rows[s.failed] for s in r.sets if len(s.failed) == 1),
        unsafe_sets=tuple(rows[s.failed] for s in r.sets if s.unprotected or s.cost is None),
        heatmap=_heatmap(topology, r.sets) if failures >= 2 else None,
        weakest=tuple(
            (d, tuple((k.replace("_", " "), v) for k, v in c.items())) for d, c in r.weakest
        ),
        never_safe=r.never_safe,
        single_points=r.single_points_of_failure,
    )


def _set_row(s) -> SetRow:
    return SetRow(
        failed=s.failed,
        complete=s.complete,
        optimal=s.optimal,
        unprotected=s.unprotected[:LISTED],
        more=max(0, len(s.unprotected) - LISTED),
        history=len(s.loses_history),
        secondary=len(s.loses_secondary),
        actions=len(s.actions),
    )


def _heatmap(topology: Topology, sets) -> HeatMap:
    """DPM server x DPM server: how many data sources the pair's best plan hurts (the diagonal:
    the server alone). The HEAT_MAX most hurt servers, in name order."""
    by_set = {frozenset(s.failed): s for s in sets if len(s.failed) <= 2}
    worst: Counter[str] = Counter()
    for key, s in by_set.items():
        for d in key:
            worst[d] = max(worst[d], len(s.hurts()) if s.cost is not None else 0)
    candidates = {d for key in by_set for d in key}
    ranked = sorted(candidates, key=lambda d: (-worst[d], canon(d), d))[:HEAT_MAX]
    names = tuple(_sorted(ranked))
    top = max((len(s.hurts()) for s in by_set.values() if s.cost is not None), default=0)

    def cell(a: str, b: str) -> Cell | None:
        s = by_set.get(frozenset((a, b)))
        if s is None:
            return None
        if s.cost is None:
            return Cell(None, 0, 0, 0, 0)
        hurt = len(s.hurts())
        level = 0 if hurt == 0 else 1 + min(3, (4 * hurt - 1) // max(top, 1))
        return Cell(hurt, len(s.unprotected), len(s.loses_history), len(s.loses_secondary), level)

    rows = tuple(tuple(cell(a, b) for b in names) for a in names)
    return HeatMap(names, rows, len(candidates))


# -- change ---------------------------------------------------------------------------------------


def _change(before: Topology, after: Topology, report: Report) -> Change:
    from dpmsmt.rules import all_rules

    was = before.datasource_by_id
    now = after.datasource_by_id
    moves = []
    for key in sorted(was.keys() & now.keys()):
        b, a = was[key], now[key]
        for what in ("primary", "secondary", "mode"):
            old, new = getattr(b, what), getattr(a, what)
            if (canon(old) if old else old) != (canon(new) if new else new):
                moves.append(Move(a.id, what, old or "none", new or "none"))
    dpm_changes = []
    old_dpms = {canon(n): d for n, d in before.dpm_servers.items()}
    new_dpms = {canon(n): d for n, d in after.dpm_servers.items()}
    for key in sorted(old_dpms.keys() | new_dpms.keys()):
        b, a = old_dpms.get(key), new_dpms.get(key)
        old = "not in file" if b is None else f"{b.status}, {b.version}"
        new = "not in file" if a is None else f"{a.status}, {a.version}"
        if old != new:
            dpm_changes.append(((a or b).name, old, new))
    counted = Counter(f.rule for f in report.findings if not f.waived)
    verdicts = tuple(
        ChangeVerdict(
            rule=r.id,
            anchor=rule_anchor(r.id),
            statement=r.statement,
            checked=r.severity.get(report.profile) is not None,
            findings=counted[r.id],
        )
        for r in all_rules()
        if r.change
    )
    return Change(
        before=before.file,
        moves=tuple(moves[:FINDINGS_SHOWN]),
        more_moves=max(0, len(moves) - FINDINGS_SHOWN),
        dpm_changes=tuple(dpm_changes),
        added=len(now.keys() - was.keys()),
        gone=len(was.keys() - now.keys()),
        verdicts=verdicts,
    )


# -- what to do first -----------------------------------------------------------------------------


def _first_steps(rules, waivers, recovery, res) -> tuple[Step, ...]:
    """What a reader does first, most urgent first: recover what is down, fix errors (three
    rules, in check's order), renew waivers, give single points a secondary, then
    look at warnings. Each step links to the part of the page it is about."""
    steps: list[Step] = []
    if recovery is not None:
        who = ", ".join([*recovery.failed, *recovery.removed])
        steps.append(
            Step("recovery", f"Recover the estate after the loss of {who}: follow the runbook.")
        )
    errors = [s for s in rules if s.severity == "error" and s.counting]
    for s in errors[:3]:
        steps.append(Step(s.anchor, f"Fix {s.id} ({_plural(s.counting, 'error')}): {s.statement}"))
    if len(errors) > 3:
        rest = sum(s.counting for s in errors[3:])
        steps.append(
            Step(
                "findings",
                f"Then {_plural(rest, 'more error')} under {len(errors) - 3} more rules.",
            )
        )
    for w in waivers:
        if w.state in ("expired", "expiring"):
            when = (
                "expired" if w.state == "expired" else f"expires in {_plural(w.days_left, 'day')}"
            )
            steps.append(
                Step(
                    anchor("waiver", w.index),
                    f"Review waiver {w.index} ({w.rule}): it {when} ({w.expires}).",
                )
            )
    if res is not None and res.single_points:
        names = ", ".join(res.single_points[:5]) + (" …" if len(res.single_points) > 5 else "")
        steps.append(
            Step("resilience", f"Give a secondary to the single points of failure: {names}.")
        )
    warnings = [s for s in rules if s.severity == "warning" and s.counting]
    if warnings:
        n = sum(s.counting for s in warnings)
        steps.append(
            Step(
                warnings[0].anchor,
                f"Look at {_plural(n, 'warning')} under {_plural(len(warnings), 'rule')}.",
            )
        )
    if not steps:
        steps.append(Step(None, "Nothing to do: the estate passes every rule."))
    return tuple(steps)


def _plural(n: int | None, word: str) -> str:
    n = n or 0
    return f"{n} {word}{'s' * (n != 1)}"
