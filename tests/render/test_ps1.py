"""`--format ps1`: plans as PowerShell runbooks, parsed with a real PowerShell grammar.

tree-sitter-powershell does the parsing. It does not know that PowerShell also ends a
single-quoted string at the Unicode quotes ‘ ’ ‚ ‛, so every string literal it finds is scanned
again with PowerShell's own rule (`ps_string`, after PowerShell's tokenizer): both must agree on
where each literal ends. A name reaches the script only as a literal: rendering the same runbook
with every literal replaced by `'N'` must give the same tree, node for node.
"""

from __future__ import annotations

import json
import re
from contextlib import contextmanager
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from paths import REPO_DIR

import dpmsmt
from dpmsmt.actions import Action
from dpmsmt.cli import main
from dpmsmt.design import Design, design
from dpmsmt.recovery import Plan, synthesize
from dpmsmt.render import ps1
from dpmsmt.render.ps1 import BOM, PS_QUOTES, literal, render_ps1
from dpmsmt.runbook import COMMANDS, STEP_KINDS, build_runbook, reference_markdown

tree_sitter = pytest.importorskip("tree_sitter", reason="tree-sitter is in the test extra")
tsp = pytest.importorskip(
    "tree_sitter_powershell", reason="tree-sitter-powershell is in the test extra"
)

ROOT = REPO_DIR
PARSER = tree_sitter.Parser(tree_sitter.Language(tsp.language()))
HOSTILE = "x';Remove-Item C:\\ -Recurse;'"


# -- the grammar ----------------------------------------------------------------------------------


def parse(text: str):
    """The tree of a runbook; fails on any syntax error the grammar finds."""
    source = text.removeprefix(BOM).encode("utf-8")
    tree = PARSER.parse(source)
    errors = [n for n in walk(tree.root_node) if n.type == "ERROR" or n.is_missing]
    assert not errors, [(n.start_point, n.text[:80]) for n in errors]
    return tree, source


def walk(node, *, into_strings: bool = True):
    """Every node under `node` in order (a cursor: the trees are deep)."""
    cursor = node.walk()
    while True:
        current = cursor.node
        yield current
        if (into_strings or current.type != "string_literal") and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return


def shape(tree) -> list[str]:
    """Node types in order, a string literal counted as one node whatever it holds."""
    return [n.type for n in walk(tree.root_node, into_strings=False)]


def ps_string(text: str) -> tuple[int, str]:
    """PowerShell's rule for a single-quoted string at the start of `text`: (characters it
    takes, value). A quote character followed by another one is one quote (the second)."""
    assert text[0] in PS_QUOTES
    i, out = 1, []
    while i < len(text):
        c = text[i]
        if c in PS_QUOTES:
            if i + 1 < len(text) and text[i + 1] in PS_QUOTES:
                out.append(text[i + 1])
                i += 2
                continue
            return i + 1, "".join(out)
        out.append(c)
        i += 1
    raise AssertionError("unterminated string")


def literals(tree, source: bytes) -> list[str]:
    """The value of every single-quoted literal, checking that PowerShell ends it where the
    grammar does."""
    values = []
    for node in walk(tree.root_node):
        if node.type != "string_literal" or node.text.decode()[0] not in PS_QUOTES:
            continue
        rest = source[node.start_byte :].decode("utf-8")
        taken, value = ps_string(rest)
        assert taken == len(node.text.decode("utf-8")), node.text
        values.append(value)
    return values


def commands(tree) -> set[str]:
    return {n.text.decode() for n in walk(tree.root_node) if n.type == "command_name"}


def check_runbook(text: str, names=()) -> None:
    """Parses; every command is one a runbook may run; every literal ends where PowerShell
    ends it; each of `names` is some literal's value; a name is never outside a literal."""
    tree, source = parse(text)
    assert commands(tree) <= COMMANDS, commands(tree) - COMMANDS
    values = literals(tree, source)
    for name in names:
        assert any(name in v for v in values), name


@contextmanager
def plain_literals():
    """Every literal rendered as `'N'`: the runbook's structure without its names."""
    with mock.patch.object(ps1, "literal", lambda value: "'N'"):
        yield


def assert_names_stay_strings(render) -> None:
    hostile, _ = parse(render())
    with plain_literals():
        plain, _ = parse(render())
    assert shape(hostile) == shape(plain)


# -- literals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("DPM1", "'DPM1'"),
        ("", "''"),
        ("it's", "'it''s'"),
        ("a‘b", "'a‘‘b'"),
        ("a’b", "'a’’b'"),
        ("a‚b", "'a‚‚b'"),
        ("a‛b", "'a‛‛b'"),
        ('$x `n "y"', "'$x `n \"y\"'"),
        ("line\nbreak", "'line\nbreak'"),
    ],
)
def test_literal_doubles_every_quote_powershell_knows(value, expected):
    assert literal(value) == expected
    assert ps_string(expected) == (len(expected), value)


@given(st.text())
def test_literal_reads_back_as_the_value(value):
    text = literal(value)
    assert ps_string(text + " trailing") == (len(text), value)


# -- runbooks of the models ----------------------------------------------------------------------


def failed_of(t: dpmsmt.Topology) -> tuple[list[str], list[str]]:
    failed = [n for n, d in t.dpm_servers.items() if d.status == "failed"]
    removed = [n for n, d in t.dpm_servers.items() if d.status == "removed"]
    if not failed and not removed:  # an estate before the failure: fail its first primary
        primaries = [ds.primary for ds in t.datasources() if ds.primary]
        failed = [primaries[0]]
    return failed, removed


SUGGEST_MODELS = sorted([*ROOT.glob("models/seed/*.yaml"), *ROOT.glob("models/change/*.yaml")])
DESIGN_MODELS = sorted(ROOT.glob("models/design/*.yaml"))


@pytest.mark.parametrize("path", SUGGEST_MODELS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_suggest_move_runbook_parses(path):
    t = dpmsmt.load(str(path))
    failed, removed = failed_of(t)
    s = synthesize(t, failed=failed, removed=removed, top=3, timeout=60)
    assert s.plans, path
    for plan in s.plans:
        text = render_ps1(plan, t, plans=len(s.plans), failed=s.failed, removed=s.removed)
        check_runbook(text, [*s.failed, *s.removed])


@pytest.mark.parametrize("path", DESIGN_MODELS, ids=lambda p: p.name)
def test_every_design_runbook_parses(path):
    t = dpmsmt.load(str(path))
    result = design(t, allow_new=1, top=3, timeout=60)
    for d in result.designs:
        text = render_ps1(d, t, plans=len(result.designs))  # the command follows the type
        assert f"dpmsmt runbook: design plan {d.rank} of {len(result.designs)}" in text
        check_runbook(text)


# -- hostile names --------------------------------------------------------------------------------

SEED = """\
dpmsmt: 1
profile: "2012"
dpm_servers:
  DPMA: {version: "4.2.1092.0", os: "Windows Server 2012 R2 6.3.9600"}
  DPMB: {version: "4.2.1092.0", os: "Windows Server 2012 R2 6.3.9600"}
  DPMC:
    version: "4.2.1092.0"
    os: "Windows Server 2012 R2 6.3.9600"
    protects: [DPMA, DPMB]
servers:
  SRV1:
    agent: DPMA
    datasources:
      - {name: 'D:\\', primary: DPMA, secondary: DPMC, protection_group: PGX}
  SRV2:
    agent: DPMB
    datasources:
      - {name: 'D:\\', primary: DPMB, secondary: DPMC}
"""


def seed_with(names: dict[str, str]) -> dpmsmt.Topology:
    text = SEED
    for old, new in names.items():
        text = text.replace(old, json.dumps(new))
    return dpmsmt.loads(text, file="hostile.yaml")


def test_the_briefs_server_name_stays_a_string():
    # DPMA fails; its protected server and its secondary have hostile names
    names = {"SRV1": HOSTILE, "DPMC": "DPM’3';iex 'calc", "PGX": "pg'; Remove-Item -Recurse x"}
    t = seed_with(names)
    s = synthesize(t, failed=["DPMA"], top=3, timeout=60)
    assert len(s.plans) == 3
    for plan in s.plans:

        def render(plan=plan):
            return render_ps1(plan, t, plans=3, failed=s.failed)

        text = render()
        check_runbook(text, [HOSTILE, "DPM’3';iex 'calc"])
        tree, _ = parse(text)
        assert "Remove-Item" not in commands(tree) and "iex" not in commands(tree)
        assert_names_stay_strings(render)


# No tab, newline or carriage return: the reader refuses names holding control characters
# (dpmsmt/io/names.py, tests/io/test_hostile_names.py), so they never reach a runbook.
NAME_CHARS = st.sampled_from(
    [*"'‘’‚‛\"`$#;|&(){}[]@<>\\ .:-=+,", "#>", "<#", "$(", "@'", "'@", "ђ", "é", "x", "Y"]
)


def hostile_names(prefix: str):
    """Names with PowerShell's quote, comment, sub-expression and separator characters; every
    one carries `prefix` so the tests can find where it lands. No `/`: it splits an id."""
    return st.lists(NAME_CHARS, max_size=12).map(lambda parts: prefix + "".join(parts))


@st.composite
def hostile_estates(draw):
    """A small estate (DPM1 protected by DPM2, a third DPM server, two protected servers) with
    hostile names, the failure of DPM1 as the file states it, and a plan built by hand that
    uses every kind of action (the renderer does not need a legal plan)."""
    dpm = [draw(hostile_names(f"ZQd{i}")) for i in range(3)]
    srv = [draw(hostile_names(f"ZQs{i}")) for i in range(2)]
    ds = [draw(hostile_names(f"ZQv{i}")) for i in range(2)]
    version = draw(hostile_names("ZQver"))
    failure = {
        "database": draw(st.sampled_from(["lost", "intact"])),
        "storage": draw(st.sampled_from(["lost", "intact"])),
    }
    doc = {
        "dpmsmt": 1,
        "dpm_servers": {
            dpm[0]: {
                "version": version,
                "status": "failed",
                "failure": failure,
                "database": {"sql": draw(st.sampled_from(["local", "remote"]))},
            },
            dpm[1]: {"version": version, "protects": [dpm[0]]},
            dpm[2]: {"version": version},
        },
        "servers": {
            s: {
                "agent": dpm[0],
                "datasources": [
                    {"name": n, "primary": dpm[0], "secondary": dpm[1], "protection_group": n}
                    for n in ds
                ],
            }
            for s in srv
        },
    }
    t = dpmsmt.loads(json.dumps(doc), format="json", file=draw(hostile_names("ZQfile")))
    ids = [f"{s}/{n}" for s in srv for n in ds]
    new = draw(hostile_names("ZQnew"))
    pool = [
        Action("switch", server=srv[0], from_=dpm[0], to=dpm[1], datasources=tuple(ids[:2])),
        Action("rebuild", dpm=dpm[0]),
        Action("move", server=srv[1], from_=dpm[0], to=dpm[2], datasources=tuple(ids[2:])),
        Action("new-dpm", server=srv[1], from_=dpm[0], to=new, version=version),
        Action("reassign-secondary", dpm=dpm[2], from_=None, to=dpm[1], datasources=tuple(ids)),
    ]
    immediate = tuple(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4)))
    final = ()
    if draw(st.booleans()):
        final = (
            Action("rebuild", dpm=dpm[0]),
            Action(
                "switch-back", server=srv[0], from_=dpm[1], to=dpm[0], datasources=tuple(ids[:2])
            ),
        )
    plan = Plan(
        rank=1,
        complete=draw(st.booleans()),
        cost={"unprotected": 0, "exposure": 3},
        immediate=immediate,
        final=final,
        keeps={},
        loses={"secondary_protection": ids[:1], "history": []},
        unprotected=tuple(ids[1:2]),
    )
    return t, plan, [*dpm, *srv, *ds, version, new, t.file]


def assert_marked_names_only_in_literals(text: str) -> None:
    tree, source = parse(text)
    spans = [(n.start_byte, n.end_byte) for n in walk(tree.root_node) if n.type == "string_literal"]
    for match in re.finditer(b"ZQ", source):
        assert any(a < match.start() < b for a, b in spans), source[
            match.start() - 40 : match.end() + 40
        ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_estates())
def test_hostile_names_never_become_code(estate):
    t, plan, names = estate

    def render():
        return render_ps1(plan, t, failed=[next(iter(t.dpm_servers))])

    text = render()
    failed, server, source = names[0], names[3], names[5]  # in the header's Failed and Loses
    check_runbook(text, [failed, f"{server}/{source}", t.file])
    assert_marked_names_only_in_literals(text)
    assert_names_stay_strings(render)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_estates())
def test_hostile_names_in_designs_never_become_code(estate):
    t, plan, _ = estate
    actions = tuple(a for a in plan.actions if a.action == "reassign-secondary")
    new = Action(
        "reassign-secondary",
        dpm=plan.actions[0].from_ or plan.actions[0].dpm,
        to="ZQn'ew",
        version="ZQ'v",
    )
    d = Design(
        rank=1,
        complete=True,
        cost={"unassigned": 0},
        actions=(*actions, new),
        new_servers=(("ZQn'ew", "ZQ'v"),),
    )

    def render():
        return render_ps1(d, t, command="design")

    check_runbook(render(), ["ZQn'ew"])
    assert_marked_names_only_in_literals(render())
    assert_names_stay_strings(render)


# -- what the runbook says -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_plans():
    t = dpmsmt.load(str(ROOT / "models/seed/before.yaml"))
    return t, synthesize(t, failed=["DPM1"], top=3, timeout=60)


def test_header_names_the_plan_its_costs_and_losses(seed_plans):
    t, s = seed_plans
    plan = s.plans[1]  # switch only: loses Server1's secondary protection
    text = render_ps1(plan, t, plans=3, failed=s.failed)
    assert text.startswith(
        BOM + "<#\n.SYNOPSIS\ndpmsmt runbook: suggest-move plan 2 of 3 (complete)."
    )
    assert "\n  1. immediate (restore protection now): 1 switch\n" in text
    for key, value in plan.cost.items():
        assert f"\n  {key}: {value}\n" in text
    assert "    Failed      = @('DPM1')\n" in text
    assert "Loses       = [ordered]@{ 'secondary protection' = @('Server1/D:\\') }" in text
    assert "\n$ErrorActionPreference = 'Stop'\n" in text
    assert "$DryRun = (-not $Execute) -or $WhatIfPreference" in text
    check_runbook(text)


def test_phases_in_order_and_steps_numbered(seed_plans):
    t, s = seed_plans
    plan = s.plans[0]  # switch now; rebuild DPM1 and switch back later
    text = render_ps1(plan, t, plans=3, failed=s.failed)
    phases = re.findall(r"^# Phase (\d) of 2: (\w+)", text, re.M)
    assert phases == [("1", "immediate"), ("2", "final")]
    actions = re.findall(r"^# Action \d\.\d: (\S+)", text, re.M)
    assert actions == [a.action for a in plan.immediate + plan.final]
    numbers = [
        int(n) for n in re.findall(r"^(?:Invoke|Confirm)-RunbookStep -Number (\d+)", text, re.M)
    ]
    assert numbers == list(range(1, len(numbers) + 1))
    book = build_runbook(plan, t, failed=s.failed)
    assert [p.key for p in book.phases] == ["immediate", "final"]
    keys = [step.kind.key for step in book.steps]
    # the DPM steps the plan names, as commands, in the documented order
    assert keys.index("switch-protection") < keys.index("reinstall") < keys.index("dpmsync-restore")
    assert (
        keys.index("dpmsync-restore")
        < keys.index("dpmsync-sync")
        < keys.index("consistency-check-all")
    )
    assert "Start-DPMSwitchProtection -ProtectionGroup $items[0].PG" in text
    assert "DpmSync -RestoreDb -DbLoc $A.DbLoc" in text


def test_reinstall_is_a_manual_step_that_waits(seed_plans):
    t, s = seed_plans
    text = render_ps1(s.plans[0], t, failed=s.failed)
    block = text[text.index("(manual, no command exists): Reinstall Windows and DPM") :]
    assert block.split("\n")[2].startswith("Confirm-RunbookStep -Number 4 -On 'DPM1'")
    assert "Read-Host ('Type DONE when step {0} is done" in text


def test_storage_lost_reallocates_and_moves_point_the_agent():
    t = dpmsmt.loads(
        SEED.replace(
            'DPMA: {version: "4.2.1092.0"',
            'DPMA: {status: failed, failure: {storage: lost}, version: "4.2.1092.0"',
        )
    )
    rebuild = Plan(1, True, {}, (Action("rebuild", dpm="DPMA"),), (), {}, {})
    keys = [s.kind.key for s in build_runbook(rebuild, t).steps]
    assert keys == [
        "reinstall",
        "recover-database-backup",
        "dpmsync-restore",
        "dpmsync-sync",
        "dpmsync-reallocate",
        "recreate-replicas",
        "set-dpm-server",
        "consistency-check-all",
    ]
    check_runbook(render_ps1(rebuild, t), ["DPMA", "SRV1"])
    intact = dpmsmt.loads(
        SEED.replace(
            'DPMA: {version: "4.2.1092.0"',
            'DPMA: {status: failed, failure: {database: intact}, database: {sql: remote}, version: "4.2.1092.0"',
        )
    )
    keys = [s.kind.key for s in build_runbook(rebuild, intact).steps]
    assert "dpmsync-restore" not in keys and "recover-database-backup" not in keys
    remote = dpmsmt.loads(
        SEED.replace(
            'DPMA: {version: "4.2.1092.0"', 'DPMA: {database: {sql: remote}, version: "4.2.1092.0"'
        )
    )
    keys = [s.kind.key for s in build_runbook(rebuild, remote, failed=["DPMA"]).steps]
    assert keys[:3] == ["reinstall", "recover-database-backup", "restore-database-remote-sql"]
    move = Plan(
        1,
        True,
        {},
        (Action("move", server="SRV1", from_="DPMA", to="DPMB", datasources=("SRV1/D:\\",)),),
        (),
        {},
        {},
    )
    steps = build_runbook(move, t).steps
    assert [(s.kind.key, s.on) for s in steps][:2] == [
        ("set-dpm-server", "SRV1"),
        ("install-agent", "DPMB"),
    ]
    assert steps[0].arguments == (("Dpm", "DPMB"),)


def test_every_step_kind_names_its_source_and_command():
    for kind in STEP_KINDS.values():
        assert kind.source.startswith("https://learn.microsoft.com/"), kind.key
        assert kind.manual or kind.note or (kind.command and kind.script), kind.key
        assert not (kind.manual and kind.script), kind.key


def test_docs_are_generated_from_the_step_kinds():
    page = (ROOT / "docs/runbook.md").read_text(encoding="utf-8")
    assert page == reference_markdown() + "\n", "run: python -m dpmsmt.runbook > docs/runbook.md"


# -- the command line ----------------------------------------------------------------------------


def run(capsys, *argv) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as e:
        main(list(argv))
    out, err = capsys.readouterr()
    return e.value.code, out, err


def test_cli_writes_the_chosen_plan(capsys, tmp_path):
    seed = str(ROOT / "models/seed/before.yaml")
    code, out, _ = run(capsys, "suggest-move", seed, "--fail", "DPM1", "-f", "ps1", "--plan", "2")
    assert code == 0 and out.startswith(BOM) and "plan 2 of 3" in out
    check_runbook(out)
    target = tmp_path / "runbook.ps1"
    code, out2, _ = run(
        capsys,
        "suggest-move",
        seed,
        "--fail",
        "DPM1",
        "-f",
        "ps1",
        "--plan",
        "2",
        "-o",
        str(target),
    )
    assert code == 0 and out2 == ""
    assert target.read_bytes() == out.encode("utf-8")  # deterministic, and BOM first


@pytest.mark.parametrize("plan", ["0", "4"])
def test_cli_plan_out_of_range_is_exit_2(capsys, plan):
    seed = str(ROOT / "models/seed/before.yaml")
    code, out, err = run(
        capsys, "suggest-move", seed, "--fail", "DPM1", "-f", "ps1", "--plan", plan
    )
    assert code == 2 and out == ""
    assert err == f"dpmsmt: error: --plan {plan}: there are 3 plans\n"


def test_cli_design_runbook_and_out_of_range(capsys):
    pair = str(ROOT / "models/design/pair.yaml")
    code, out, _ = run(capsys, "design", pair, "-f", "ps1")
    assert code == 0 and "design plan 1 of 1" in out
    check_runbook(out, ["DPM1", "DPM2"])
    code, out, err = run(capsys, "design", pair, "-f", "ps1", "--plan", "2")
    assert code == 2 and out == "" and "--plan 2: there is 1 design" in err
