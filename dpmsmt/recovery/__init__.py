"""suggest-move: ranked, legal recovery plans after DPM servers fail (rules.md).

`failure`: what failed; `options`: groups of interchangeable servers and their options, move
classes; `secondaries`: new secondaries and loads; `encoding`: the problem per criterion as
SMT-LIB text; `solve`: the search; `decode`: from a model to a Plan; `verify`: the proof;
`problem`: the Problem and the entry points (`synthesize`, `suggest_moves`, `apply`).
"""

from dpmsmt.optimize.legality import IGNORED, KnownErrors, error_rules
from dpmsmt.optimize.search import fresh_z3
from dpmsmt.plan import Plan, Suggestion
from dpmsmt.recovery.encoding import CRITERIA, EXPOSURE
from dpmsmt.recovery.failure import failure_of
from dpmsmt.recovery.options import MOVE_CANDIDATES
from dpmsmt.recovery.problem import Problem, apply, problem_of, suggest_moves, synthesize
from dpmsmt.recovery.verify import HISTORY

__all__ = [
    "CRITERIA",
    "EXPOSURE",
    "HISTORY",
    "IGNORED",
    "MOVE_CANDIDATES",
    "KnownErrors",
    "Plan",
    "Problem",
    "Suggestion",
    "apply",
    "error_rules",
    "failure_of",
    "fresh_z3",
    "problem_of",
    "suggest_moves",
    "synthesize",
]
