"""dpmsmt: a formal constraint model and solver for Microsoft DPM backup topologies.

The Python API (cli.md, "Python API"): `load`, `loads`, `check`, and the data they return.
"""

from dpmsmt.check import check
from dpmsmt.findings import (
    Finding,
    LoadError,
    Location,
    Report,
    Severity,
    SolverGaveUp,
    TopologyError,
)
from dpmsmt.io.loader import load, loads
from dpmsmt.model import Topology

__all__ = [
    "Finding",
    "LoadError",
    "Location",
    "Report",
    "Severity",
    "SolverGaveUp",
    "Topology",
    "TopologyError",
    "check",
    "load",
    "loads",
]
__version__ = "0.1.0"
