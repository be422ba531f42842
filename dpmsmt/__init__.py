"""dpmsmt: a formal constraint model and solver for Microsoft DPM backup topologies.

The Python API (cli.md, "Python API"): `load`, `loads`, `check`, `suggest_moves`, `apply`,
`design`, `dump`, `import_exports`, and the data they return; `dpmsmt.strategies` has Hypothesis strategies.

The names are imported on first use (PEP 562): the command line imports `dpmsmt.cli`, and
`dpmsmt --help` or `validate` must not pay for Z3, networkx and the solvers they never run.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_HOMES = {
    "check": "dpmsmt.check",
    "Design": "dpmsmt.design",
    "DesignResult": "dpmsmt.design",
    "design": "dpmsmt.design",
    "Finding": "dpmsmt.findings",
    "LoadError": "dpmsmt.findings",
    "Location": "dpmsmt.findings",
    "Report": "dpmsmt.findings",
    "Severity": "dpmsmt.findings",
    "SolverGaveUp": "dpmsmt.findings",
    "TopologyError": "dpmsmt.findings",
    "dump": "dpmsmt.io.dump",
    "load": "dpmsmt.io.loader",
    "loads": "dpmsmt.io.loader",
    "Topology": "dpmsmt.model",
    "Plan": "dpmsmt.plan",
    "apply": "dpmsmt.recovery",
    "suggest_moves": "dpmsmt.recovery",
    "import_exports": "dpmsmt.importer",
}

__all__ = [
    "Design",
    "DesignResult",
    "Finding",
    "LoadError",
    "Location",
    "Plan",
    "Report",
    "Severity",
    "SolverGaveUp",
    "Topology",
    "TopologyError",
    "apply",
    "check",
    "design",
    "dump",
    "import_exports",
    "load",
    "loads",
    "suggest_moves",
]


def __getattr__(name: str):
    """Import a public name from its module the first time it is asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'dpmsmt' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


class _Package(types.ModuleType):
    """`dpmsmt.check` and `dpmsmt.design` are functions, though modules of those names exist:
    importing such a module binds its name on the package, and that binding is turned into the
    function of the same name (what the eager `from dpmsmt.check import check` used to leave)."""

    def __setattr__(self, name: str, value) -> None:
        if name in ("check", "design") and isinstance(value, types.ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


if TYPE_CHECKING:  # for type checkers and editors: the names as plain imports
    from dpmsmt.check import check
    from dpmsmt.design import Design, DesignResult, design
    from dpmsmt.findings import (
        Finding,
        LoadError,
        Location,
        Report,
        Severity,
        SolverGaveUp,
        TopologyError,
    )
    from dpmsmt.importer import import_exports
    from dpmsmt.io.dump import dump
    from dpmsmt.io.loader import load, loads
    from dpmsmt.model import Topology
    from dpmsmt.plan import Plan
    from dpmsmt.recovery import apply, suggest_moves
