"""What a browser must find in a `dpmsmt report` page: shared by tests/render/test_report_browser.py and
benchmarks/report_scaling.py. Needs Playwright for Python and Debian's Chromium.

`Session(browser).open(path)` loads a page from disk with the network off and every request
recorded (and aborted unless it is the page itself); `problems(...)` reads the DOM and returns what
is wrong, as sentences (an empty list: the page is accepted).
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def why_no_browser() -> str | None:
    """None when the browser tests can run, else the reason to skip them."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (apt-get install chromium; .ci/run installs it)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright for Python is not installed (pip install -e '.[test]')"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)


@dataclass
class Opened:
    """One page load: the page, and what it asked for, logged and opened while loading."""

    page: object
    url: str
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


class Session:
    """One browser context and one tab, reused for every page (a new context costs more than
    the page): the network off, every request recorded and aborted unless it is the page."""

    def __init__(self, browser, *, javascript: bool = True, width: int = 1280):
        self.context = browser.new_context(
            offline=True, java_script_enabled=javascript, viewport={"width": width, "height": 900}
        )
        self.current = Opened(page=None, url="")
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: m.type == "error" and self.current.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.current.errors.append(str(e)))
        self.page.on("dialog", self._dialog)

    def _route(self, r) -> None:
        self.current.requests.append(r.request.url)
        if r.request.url == self.current.url:
            r.continue_()
        else:
            r.abort()

    def _dialog(self, d) -> None:
        self.current.dialogs.append(d.message)
        d.dismiss()

    def open(self, path: Path) -> Opened:
        self.current = Opened(page=self.page, url=Path(path).resolve().as_uri())
        self.page.goto(self.current.url, wait_until="load")
        return self.current

    def close(self) -> None:
        self.context.close()


# One evaluation returns everything the checks read, so a page costs one round trip.
_READ = """() => {
  const q = (s) => Array.from(document.querySelectorAll(s));
  const count = (k) => { const e = document.querySelector(`[data-count="${k}"]`); return e ? Number(e.textContent) : null; };
  const rows = q("tr.finding").map((tr) => {
    const link = tr.querySelector('a[href^="#rule-"]');
    const target = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
    return {severity: tr.dataset.severity, waived: tr.dataset.waived === "true",
            linked: !!(target && target.matches("section.rule"))};
  });
  const broken = q('a[href^="#"]').map((a) => a.getAttribute("href").slice(1))
    .filter((id) => !document.getElementById(id));
  const outside = q("[src], link[href], a[href]").map((e) => e.getAttribute("src") || e.getAttribute("href"))
    .filter((h) => h && !h.startsWith("#") && !h.startsWith("https://") && !h.startsWith("http://"));
  return {
    counts: {error: count("error"), warning: count("warning"), info: count("info"), waived: count("waived")},
    rows, broken, outside,
    hidden: q("section.rule p.note").length,
    scripts: q("script").length,
    headings: q("h1, h2, h3, h4, h5, h6").map((h) => Number(h.tagName[1])),
    unscoped: q("thead th").filter((th) => !th.getAttribute("scope")).length,
    verdict: (document.querySelector("[data-verdict]") || {dataset: {}}).dataset.verdict,
    svg: q("svg").length,
    details: q("details").length,
    dupes: q("[id]").map((e) => e.id).filter((id, i, all) => all.indexOf(id) !== i),
  };
}"""


def read(opened: Opened) -> dict:
    return opened.page.evaluate(_READ)


def problems(opened: Opened, expected: dict) -> list[str]:
    """Compare the page with `check --format json`'s document `expected`."""
    dom = read(opened)
    out: list[str] = []
    if opened.requests != [opened.url]:
        out.append(f"requests other than the page: {opened.requests}")
    if opened.errors:
        out.append(f"console errors: {opened.errors}")
    if opened.dialogs:
        out.append(f"dialogs opened: {opened.dialogs}")
    if dom["counts"] != expected["counts"]:
        out.append(f"summary counts {dom['counts']} != check's {expected['counts']}")
    if dom["verdict"] != expected["verdict"]:
        out.append(f"verdict {dom['verdict']} != check's {expected['verdict']}")
    if not dom["hidden"]:  # every finding is listed: the rows add up to check's counts
        for severity in ("error", "warning", "info"):
            n = sum(1 for r in dom["rows"] if r["severity"] == severity and not r["waived"])
            if n != expected["counts"][severity]:
                out.append(f"{n} {severity} rows != check's {expected['counts'][severity]}")
        waived = sum(1 for r in dom["rows"] if r["waived"])
        if waived != expected["counts"]["waived"]:
            out.append(f"{waived} waived rows != check's {expected['counts']['waived']}")
    unlinked = sum(1 for r in dom["rows"] if not r["linked"])
    if unlinked:
        out.append(f"{unlinked} finding rows do not link to their rule's section")
    if dom["broken"]:
        out.append(f"links to missing ids: {sorted(set(dom['broken']))[:5]}")
    if dom["outside"]:
        out.append(f"references to files or other schemes: {dom['outside'][:5]}")
    if dom["dupes"]:
        out.append(f"ids used twice: {sorted(set(dom['dupes']))[:5]}")
    if dom["scripts"]:
        out.append(f"{dom['scripts']} script elements")
    levels = dom["headings"]
    if not levels or levels[0] != 1 or any(b > a + 1 for a, b in itertools.pairwise(levels)):
        out.append(f"headings out of order: {levels}")
    if dom["unscoped"]:
        out.append(f"{dom['unscoped']} table headers without scope")
    return out
