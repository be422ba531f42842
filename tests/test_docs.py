"""The user documentation in docs/ agrees with the code, and nothing needs a folder outside the clone.

Generated pages (docs/rules.md, the key tables of docs/format.md) are compared with what the code
generates now; the hand-written pages are held to the code where they state its constants (the
cost order and weights, the exit codes) and to the files they link.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path

import pytest
import yaml

import dpmsmt
from dpmsmt import cli
from dpmsmt.io.descriptions import missing, unknown
from dpmsmt.io.schema import schema
from dpmsmt.recovery import CRITERIA, EXPOSURE
from dpmsmt.render import format_doc
from dpmsmt.render.catalogue import render_markdown
from dpmsmt.rules import all_rules

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        cli.main(list(argv))
    out = capsys.readouterr()
    return (info.value.code or 0), out.out, out.err


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# -- dpmsmt schema -----------------------------------------------------------------------------


def test_schema_describes_every_model_and_property(capsys):
    code, out, err = run(capsys, "schema")
    assert (code, err) == (0, "")
    undescribed = missing(json.loads(out))
    assert not undescribed, (
        f"no description for {undescribed}: add the text to dpmsmt/io/descriptions.py "
        "(PROPERTIES, or MODELS for a new model), then run "
        "`python -m dpmsmt.render.format_doc --write`"
    )


def test_descriptions_describe_only_what_the_schema_has():
    stale = unknown(schema())
    assert not stale, f"dpmsmt/io/descriptions.py describes keys the schema lacks: {stale}"


def test_a_new_key_without_description_is_reported():
    """What happens when a key is added to a model and not to descriptions.py."""
    doc = copy.deepcopy(schema())
    doc["$defs"]["DpmServerDoc"]["properties"]["identity"] = {"type": "string"}
    doc["$defs"]["NewDoc"] = {"properties": {"x": {"type": "string", "description": "x"}}}
    assert missing(doc) == ["DpmServerDoc.identity", "NewDoc"]


def test_schema_leaves_out_expect():
    doc = schema()
    assert "expect" not in doc["properties"]
    assert doc["additionalProperties"] is False  # so an editor flags `expect` in a user's file
    assert '"expect"' not in json.dumps(doc)


# -- docs/format.md ----------------------------------------------------------------------------


def test_format_md_key_tables_are_the_generated_ones():
    text = read("format.md")
    assert format_doc.regenerate(text) == text, (
        "docs/format.md's key tables differ from the schema and dpmsmt/io/descriptions.py: run "
        "`python -m dpmsmt.render.format_doc --write` and commit docs/format.md"
    )


def test_format_md_documents_every_key_of_the_schema():
    text = read("format.md")
    doc = schema()
    for name, model in [("TopologyDoc", doc), *doc["$defs"].items()]:
        for key, prop in model.get("properties", {}).items():
            assert f"| `{key}` |" in text, f"{name}.{key} is not in docs/format.md"
            assert prop["description"] in text, f"{name}.{key}: its description is not in format.md"


def test_format_doc_check_mode_says_how_to_regenerate(tmp_path, capsys):
    stale = tmp_path / "format.md"
    stale.write_text(f"intro\n{format_doc.BEGIN}\nold\n{format_doc.END}\nend\n", encoding="utf-8")
    assert format_doc.main(["--check", str(stale)]) == 1
    assert "python -m dpmsmt.render.format_doc --write" in capsys.readouterr().err
    assert format_doc.main(["--write", str(stale)]) == 0
    assert format_doc.main(["--check", str(stale)]) == 0
    text = stale.read_text(encoding="utf-8")
    assert text.startswith("intro\n") and text.endswith("end\n") and "| `protects` |" in text


def test_format_md_example_is_valid_with_its_waiver():
    example = re.search(r"## An example.*?```yaml\n(.*?)```", read("format.md"), re.S)
    report = dpmsmt.check(dpmsmt.loads(example.group(1)), today=dt.date(2026, 12, 1))
    assert report.verdict == "valid"
    assert [(f.rule, f.waived) for f in report.findings] == [("SECONDARY-COVERAGE", True)]


# -- docs/rules.md -----------------------------------------------------------------------------


def test_rules_md_is_the_generated_catalogue(capsys):
    code, out, err = run(capsys, "rules", "--format", "markdown")
    assert (code, err) == (0, "")
    assert out == render_markdown(all_rules())
    assert read("rules.md") == out, (
        "docs/rules.md differs from the rule modules: run "
        "`dpmsmt rules --format markdown > docs/rules.md` and commit it"
    )


def test_rules_md_has_every_rule_with_its_statement():
    text = read("rules.md")
    for rule in all_rules():
        assert f"\n### {rule.id}\n\n{' '.join(rule.statement.split())}\n" in text


def test_rules_markdown_of_one_rule_and_a_bad_format(capsys):
    code, out, err = run(capsys, "rules", "version-match", "--format", "markdown")
    assert (code, err) == (0, "")
    assert out.startswith("### VERSION-MATCH\n") and "- **sources:**" in out
    code, out, err = run(capsys, "rules", "--format", "html")
    assert (code, out) == (2, "")
    assert err == "dpmsmt: error: --format: expected text, json or markdown, not 'html'\n"


# -- docs/plans.md and docs/cli.md: the constants they state -----------------------------------


def test_plans_md_gives_the_cost_order_of_the_code():
    text = read("plans.md")
    costs = text[text.index("## Costs") :]
    rows = re.findall(r"^\| (\d+) \| `([a-z_]+)` \|", costs, re.M)
    assert rows[: len(CRITERIA)] == [(str(i), c) for i, c in enumerate(CRITERIA, 1)]


def test_plans_md_gives_the_exposure_weights_of_the_code():
    text = read("plans.md")
    row = next(line for line in text.splitlines() if line.startswith("| 3 | `exposure` |"))
    for action in ("switch", "move", "rebuild", "new-dpm"):
        assert f"`{action}` {EXPOSURE[action]}" in row
    assert EXPOSURE["switch-back"] == EXPOSURE["switch"]  # "also switch now and back later"


def test_cli_md_lists_every_exit_code_and_command(capsys):
    text = read("cli.md")
    for code in range(5):  # 4: an internal error (cli.INTERNAL_ERROR)
        assert re.search(rf"^\| {code} \| ", text, re.M), f"exit code {code}"
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in (
        "check",
        "suggest-move",
        "resilience",
        "design",
        "graph",
        "rules",
        "report",
        "import",
    ):
        assert f"`dpmsmt {command}" in text and command in out
    for command in ("validate", "schema"):
        assert f"`dpmsmt {command}" in text


# -- links, the Actions example, no ../shared --------------------------------------------------


def _anchors(markdown: str) -> set[str]:
    return {format_doc.anchor(h) for h in re.findall(r"^#+ (.+)$", markdown, re.M)}


def _markdown_files() -> list[Path]:
    return [REPO / "README.md", *sorted(DOCS.glob("*.md"))]


@pytest.mark.parametrize("page", _markdown_files(), ids=lambda p: p.name)
def test_links_in_the_docs_resolve(page):
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, fragment = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links {target}, which does not exist"
        if fragment and linked.suffix == ".md":
            assert fragment in _anchors(linked.read_text(encoding="utf-8")), (
                f"{page.name} links {target}: no such heading"
            )


def test_github_actions_example_installs_from_the_repository():
    workflow = yaml.safe_load(read("github-actions.yml"))
    runs = [step.get("run", "") for step in workflow["jobs"]["check"]["steps"]]
    install = [r for r in runs if "pip install" in r]
    assert install and all("git+https://" in r for r in install)
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("### GitHub Actions") :].split("```yaml\n", 1)[1].split("```")[0]
    steps = yaml.safe_load(block)["jobs"]["check"]["steps"]
    assert any("pip install" in s.get("run", "") and "git+https://" in s["run"] for s in steps)
    assert not re.search(r"pip install dpmsmt\b", readme)


def test_nothing_reads_a_folder_outside_the_clone():
    needles = ("../shared", '"shared"')
    files = [REPO / "README.md", *sorted((REPO / "tests").rglob("*.py"))]
    offenders = [
        f"{path.relative_to(REPO)}: {needle}"
        for path in files
        if path != Path(__file__).resolve()  # the needles above
        for needle in needles
        if needle in path.read_text(encoding="utf-8")
    ]
    assert not offenders


def test_the_vendored_sarif_schema_has_its_license_note():
    schema_file = REPO / "tests" / "data" / "sarif-schema-2.1.0.json"
    note = (REPO / "tests" / "data" / "sarif-schema-2.1.0.LICENSE.md").read_text(encoding="utf-8")
    assert json.loads(schema_file.read_text(encoding="utf-8"))["$id"] in note
    assert "OASIS" in note
