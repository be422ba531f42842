"""Hypothesis settings profiles, registered in one place; `HYPOTHESIS_PROFILE` picks one.

- `default` (the README's `python -m pytest`): fast and repeatable. Derandomized, so every run
  tries the same examples and CI never flakes; no deadline, because solver time varies from
  machine to machine; no example database, so a run writes nothing into the clone.
- `thorough` (`HYPOTHESIS_PROFILE=thorough python -m pytest`): many more examples, random ones
  (a new seed per run), with the example database so that a failure found once is replayed
  first next time.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=25,
    derandomize=True,
    deadline=None,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=500,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
