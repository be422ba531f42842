"""dpmsmt: a formal constraint model and solver for Microsoft DPM backup topologies.

The Python API (cli.md, "Python API"): `load`, `loads`, `check`, `suggest_moves`, `apply`,
`design`, `dump`, `import_exports`, and the data they return; `dpmsmt.strategies` has Hypothesis strategies.
"""

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
from dpmsmt.synth import Plan, apply, suggest_moves

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
__version__ = "0.1.0"
