"""A supported estate through a sequence of failures and recoveries (a Hypothesis state machine).

The machine starts from a generated supported estate (`topologies(valid=True)`), then, step by
step, fails an up DPM server that is the primary of something (with its database lost, its database
intact, or its storage lost) and applies suggest-move's best plan, or rebuilds a failed DPM server
where REBUILD-NEEDS-BACKUP allows it. What must hold (rules.md, "Recovery actions"):

- after a complete plan, each phase's state passes `check --before` the state before the failure,
  with no error outside the suggestion's `preexisting` fingerprints (PRIMARY-DOWN included: a
  complete plan leaves no data source on a down primary), and every data source that had an up
  primary before the failure has one after each phase;
- where no complete plan exists, suggest-move still shows its best partial plan, and every data
  source that plan leaves unprotected has a non-empty `blocked_by` (the rules that block it); on
  small enough failures a brute-force search over the same actions finds no complete plan either;
  the failure is then undone (the machine explores estates that stay supported);
- a rebuild that REBUILD-NEEDS-BACKUP allows (by the reference reading of tests/reference.py)
  adds no error; one that it forbids is reported by `check --before` as well;
- invariant: the estate never has an error that it did not have at the start (none: it is
  generated supported), so errors never pile up across steps.
"""

from __future__ import annotations

import os
from dataclasses import replace

from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from reference import reference_check_change

import dpmsmt
from dpmsmt.actions import Action, apply_actions
from dpmsmt.model import Failure, Topology
from dpmsmt.recovery import synthesize
from dpmsmt.strategies import topologies

TODAY = "2026-01-15"  # within the range where `topologies(valid=True)` keeps its promise
THOROUGH = os.environ.get("HYPOTHESIS_PROFILE", "default") != "default"
REMOVED = "removed"
FAILURES = (
    None,  # `suggest_moves(failed=[name])`: format.md's default failure (database lost)
    REMOVED,  # `suggest_moves(removed=[name])`: gone for good
    Failure(database="intact"),
    Failure(database="lost", storage="lost"),
)
BRUTE_FORCE_LIMIT = 64  # combinations of actions the brute-force search may try


def errors(t: Topology, before: Topology | None = None) -> list:
    return list(dpmsmt.check(t, before=before, today=TODAY).errors)


def up_primaries(t: Topology) -> list[str]:
    """Up DPM servers that are the primary of some data source."""
    return sorted(
        {ds.primary for ds in t.datasources() if ds.primary and t.dpm_servers[ds.primary].up}
    )


def protected(t: Topology) -> set[str]:
    """Ids of the data sources with an up primary."""
    return {ds.id for ds in t.datasources() if ds.primary and t.dpm_servers[ds.primary].up}


def show(findings) -> str:
    return "\n".join(f"  {f.rule} {f.entities}" for f in findings)


class Recovery(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.state: Topology | None = None
        self.initial: set[str] = set()

    @initialize(t=topologies(valid=True, min_dpm=3, max_dpm=5))
    def start(self, t):
        self.state = t
        self.initial = {f.fingerprint for f in errors(t)}
        note(f"start:\n{dpmsmt.dump(t)}")

    # -- a DPM server fails; suggest-move's best plan is applied ---------------------------------
    @precondition(lambda self: self.state is not None and bool(up_primaries(self.state)))
    @rule(data=st.data())
    def fail_a_primary(self, data):
        self._fail(data.draw(st.sampled_from(up_primaries(self.state)), label="fail"), data)

    @precondition(
        lambda self: self.state is not None and any(d.up for d in self.state.dpm_servers.values())
    )
    @rule(data=st.data())
    def fail_any_server(self, data):
        """A secondary, or a DPM server that protects nothing, fails (reassign-secondary)."""
        up = sorted(n for n, d in self.state.dpm_servers.items() if d.up)
        self._fail(data.draw(st.sampled_from(up), label="fail"), data)

    def _fail(self, name: str, data) -> None:
        before = self.state
        failure = data.draw(st.sampled_from(FAILURES), label="failure")
        if failure is None:
            result = synthesize(before, failed=[name], top=1)
        elif failure == REMOVED:
            result = synthesize(before, removed=[name], top=1)
        else:  # the failure written in the file, as `suggest-move FILE` without --fail reads it
            d = before.dpm_servers[name]
            dpms = {**before.dpm_servers, name: replace(d, status="failed", failure=failure)}
            result = synthesize(replace(before, dpm_servers=dpms), top=1)
        assert result.plans, (
            f"suggest-move shows no plan at all for the failure of {name} ({failure}); cli.md: "
            f"the best partial plans are still shown\n{dpmsmt.dump(before)}"
        )
        plan = result.plans[0]
        note(f"fail {name} ({failure}): {[a.to_json() | {'steps': []} for a in plan.actions]}")
        event(f"plan: {'complete' if plan.complete else 'partial'}")
        if not plan.complete:
            self._no_complete_plan(before, name, failure, plan)
            return  # the failure is undone: the machine explores supported estates

        after = dpmsmt.apply(before, plan)
        assert after == plan.final_state
        pre = set(result.preexisting)
        had = protected(before)
        phases = (plan.immediate_state, plan.final_state) if plan.final else (plan.final_state,)
        for state in phases:
            new = [f for f in errors(state, before) if f.fingerprint not in pre]
            assert new == [], f"plan {plan.actions} adds errors:\n{show(new)}"
            lost = sorted(had - protected(state))
            assert lost == [], f"plan {plan.actions} leaves {lost} without an up primary"
        # the failed server stays down unless the plan rebuilt it; a removed one stays removed
        rebuilt = {a.dpm for a in plan.actions if a.action == "rebuild"}
        assert after.dpm_servers[name].up == (name in rebuilt)
        if failure == REMOVED:
            assert after.dpm_servers[name].status == "removed" and name not in rebuilt
        self.state = after

    def _no_complete_plan(self, before: Topology, name: str, failure, plan) -> None:
        assert plan.unprotected, "an incomplete plan names what it leaves unprotected"
        for ds in plan.unprotected:
            assert plan.blocked_by.get(ds), f"{ds} is left unprotected with no blocking rule"
        # on small failures, no combination of the actions is complete either
        from test_synth_properties import brute_force_best  # tests/ is on sys.path

        state = before
        if failure not in (None, REMOVED):
            d = before.dpm_servers[name]
            state = replace(
                before,
                dpm_servers={
                    **before.dpm_servers,
                    name: replace(d, status="failed", failure=failure),
                },
            )
        if _combinations(state, name) <= BRUTE_FORCE_LIMIT:
            event("partial plan: brute force")
            best = brute_force_best(
                state, [name] if failure is None else [], [name] if failure == REMOVED else []
            )
            assert best is None or best[0] > 0, (
                f"brute force finds a complete plan ({best}) where suggest-move finds none"
            )

    # -- a failed DPM server is rebuilt -----------------------------------------------------------
    @precondition(
        lambda self: (
            self.state is not None
            and any(d.status == "failed" for d in self.state.dpm_servers.values())
        )
    )
    @rule(data=st.data())
    def rebuild_a_failed_server(self, data):
        before = self.state
        failed = sorted(n for n, d in before.dpm_servers.items() if d.status == "failed")
        name = data.draw(st.sampled_from(failed), label="rebuild")
        after = apply_actions(before, [Action("rebuild", dpm=name)])
        forbidden = [  # unwaived change-rule errors, by the reference reading
            f
            for f in reference_check_change(before, after, today=TODAY)
            if f.severity == "error" and not f.waived
        ]
        got = errors(after, before)  # unwaived errors
        if forbidden:
            # REBUILD-NEEDS-BACKUP: its database and every backup of it are gone
            assert [f.rule for f in forbidden] == ["REBUILD-NEEDS-BACKUP"]
            assert [(f.rule, f.entities) for f in got if f.rule == "REBUILD-NEEDS-BACKUP"] == [
                (f.rule, f.entities) for f in forbidden
            ]
            event("rebuild: forbidden")
            return
        event("rebuild: allowed")
        new = [f for f in got if f.fingerprint not in self.initial]
        # data sources switched away from it while it was down and not protected by anyone (the
        # relaxation of SWITCHED-FROM-PROTECTED) would be switched wrongly once it is up: then
        # the rebuild is not legal, and nothing else may be what makes it so
        stranded = [
            f
            for f in new
            if f.rule == "SWITCHED-FROM-PROTECTED" and f.entities["switched_from"] == name
        ]
        if stranded:
            assert new == stranded, f"rebuilding {name} adds errors:\n{show(new)}"
            event("rebuild: strands a switched data source")
            return
        assert new == [], f"rebuilding {name} adds errors:\n{show(new)}"
        note(f"rebuild {name}")
        self.state = after

    # -- the estate is written and read back (always possible) ------------------------------
    @precondition(lambda self: self.state is not None)
    @rule()
    def write_and_read_back(self):
        again = dpmsmt.loads(dpmsmt.dump(self.state))
        assert again == self.state
        self.state = again

    # -- what always holds ----------------------------------------------------------------------
    @invariant()
    def no_error_piles_up(self):
        if self.state is None:
            return
        new = [f for f in errors(self.state) if f.fingerprint not in self.initial]
        assert new == [], f"the estate gained errors:\n{show(new)}\n{dpmsmt.dump(self.state)}"


def _combinations(t: Topology, name: str) -> int:
    """Roughly how many combinations `brute_force_best` tries for the failure of `name`."""
    ups = sum(1 for n, d in t.dpm_servers.items() if d.up and n != name)
    affected = {s.name for s in t.servers.values() for ds in s.datasources if ds.primary == name}
    total = 1
    for _ in affected:
        total *= 5 + ups
    for y, prot in t.protectors.items():
        if prot and all(x == name for x in prot) and t.dpm_servers[y].up:
            total *= ups + 1
    return total


Recovery.TestCase.settings = settings(
    max_examples=settings().max_examples if THOROUGH else 20,
    stateful_step_count=5,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
test_recovery_sequences = Recovery.TestCase


# -- bugs found by the machine, as minimal examples (strict xfail: they pass once fixed) ----------


def _estate(text: str) -> Topology:
    return dpmsmt.loads(text, file="example.yaml")


# DPM1 failed earlier with no secondary, so S1 could be switched away from it to DPM3 (the
# relaxation of SWITCHED-FROM-PROTECTED for a dead former primary); S2 on DPM4 lost its secondary
# DPM1. The estate is supported (check: 0 errors).
STRANDED = """\
dpmsmt: 1
dpm_servers:
  DPM1: {version: '10.19.58.0', status: failed, protects: [DPM4], database: {backup: share}}
  DPM3: {version: '10.19.58.0', database: {backup: share}}
  DPM4: {version: '10.19.58.0'}
servers:
  S1:
    agent: DPM3
    datasources:
      - {name: 'C:\\', primary: DPM3, mode: switched, switched_from: DPM1}
  S2:
    agent: DPM4
    datasources:
      - {name: 'C:\\', primary: DPM4, secondary: DPM1}
"""


def test_best_plan_keeps_a_supported_estate_supported():
    t = _estate(STRANDED)
    assert errors(t) == []
    result = synthesize(t, failed=["DPM3"], top=1)
    plan = result.plans[0]
    assert plan.complete
    # plan 1: rebuild DPM1, rebuild DPM3; S1 is still switched from DPM1 to DPM3, which does not
    # protect DPM1, and DPM1 is up again
    assert errors(plan.final_state) == [], show(errors(plan.final_state))


# S1's agent is DPM2 (failed) while DPM1 protects its data source (AGENT-OWNER, an error the
# estate already has). When DPM1 fails, moving S1 to a new DPM server gives it two agents
# (SCALE-OUT-AGENTS), a server-scoped rule the optimizer does not see; `check` rejects every
# such plan afterwards.
def _misowned(n: int) -> Topology:
    types = ["volume", "sql", "share", "folder", "hyperv", "exchange", "client"]
    servers = "".join(
        f"  S{i}:\n    agent: DPM2\n    datasources:\n"
        f"      - {{name: 'D:\\', type: {types[i]}, primary: DPM1}}\n"
        for i in range(n)
    )
    return _estate(
        "dpmsmt: 1\ndpm_servers:\n  DPM1: {version: '10.19.58.0'}\n"
        "  DPM2: {version: '10.19.58.0', status: failed, failure: {database: intact}}\n"
        f"servers:\n{servers}"
    )


def test_no_complete_plan_still_shows_a_partial_plan():
    result = synthesize(_misowned(5), failed=["DPM1"], top=1)
    assert not result.complete
    assert result.plans, "cli.md: the best partial plans are still shown"


def test_blocked_by_names_the_rule_that_blocks():
    result = synthesize(_misowned(1), failed=["DPM1"], top=1)
    plan = result.plans[0]
    assert not plan.complete and plan.unprotected == ("S0/D:\\",)
    assert "SCALE-OUT-AGENTS" in plan.blocked_by["S0/D:\\"]


# S1 was moved from DPM2 to DPM6, a DPM server that DPM1 (DPM2's secondary, which still holds
# S1's replica) does not know: legal (the seed's option 3). DPM5 and DPM1 protect each other; DPM1
# is removed, so DPM5 may get a new secondary. DPM3 failed with its database intact.
REASSIGN_JOINS = """\
dpmsmt: 1
dpm_servers:
  DPM1:
    version: '10.19.58.0'
    status: removed
    protects: [DPM5]
    inactive: [{datasource: 'S1/D:\\', from: DPM2}]
  DPM2: {version: '10.19.58.0', status: removed}
  DPM3: {version: '10.19.58.0', status: failed, failure: {database: intact}}
  DPM5: {version: '10.19.58.0', protects: [DPM1]}
  DPM6: {version: '10.19.58.0'}
servers:
  S1:
    agent: DPM6
    datasources:
      - {name: 'D:\\', primary: DPM6}
  S3:
    agent: DPM3
    datasources:
      - {name: 'D:\\', primary: DPM3}
"""


def test_reassign_secondary_does_not_move_a_server_under_its_old_secondary():
    t = _estate(REASSIGN_JOINS)
    result = synthesize(t, top=1)
    plan = result.plans[0]
    assert plan.complete
    # plan 1: rebuild DPM3; make DPM6 the secondary of DPM5 (instead of DPM1)
    new = [
        f
        for f in errors(plan.final_state, t)
        if f.fingerprint not in result.preexisting and f.rule != "PRIMARY-DOWN"
    ]
    assert new == [], show(new)
