"""Hypothesis settings profiles, registered here and nowhere else; `HYPOTHESIS_PROFILE` picks one.

- `ci` (the default: `python -m pytest`, as CI runs it): fast and repeatable. Derandomized, so
  every run tries the same examples and CI never flakes; no deadline, because solver time varies
  from machine to machine; no example database, so a run writes nothing into the clone.
- `dev` (`HYPOTHESIS_PROFILE=dev python -m pytest`): quicker still while editing: fewer, random
  examples, with the example database so that a failure found once is replayed first next time.
- `thorough` (`HYPOTHESIS_PROFILE=thorough python -m pytest`): many more examples, random ones
  (a new seed per run), with the example database.

Tests never read the environment: those that cap their examples ask `tests/profiles.py`, which
reads the loaded profile. `default`, the old name of `ci`, is still understood.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile(
    "ci",
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=SLOW_DATA,
)
settings.register_profile(
    "dev", max_examples=10, deadline=None, print_blob=True, suppress_health_check=SLOW_DATA
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None, print_blob=True, suppress_health_check=SLOW_DATA
)
_chosen = os.environ.get("HYPOTHESIS_PROFILE") or "ci"
settings.load_profile("ci" if _chosen == "default" else _chosen)
