"""What a test may know of the loaded Hypothesis profile (conftest.py registers and loads it).

Tests import these instead of reading `HYPOTHESIS_PROFILE`, so the choice of a profile lives in
one place. Call them at import time of a test module: conftest has loaded the profile by then.
"""

from __future__ import annotations

from hypothesis import settings


def thorough() -> bool:
    """Whether the loaded profile asks for more examples than CI's (`thorough`, or one like it)."""
    return settings().max_examples > settings.get_profile("ci").max_examples


def examples(n: int) -> int:
    """A slow test's number of examples: n under `ci`, the profile's own under `thorough`, and
    never more than the profile's under a lighter one (`dev`)."""
    loaded = settings().max_examples
    if thorough():
        return loaded
    return min(n, loaded) if loaded < settings.get_profile("ci").max_examples else n


def capped(n: int, **kw) -> settings:
    """`settings` for a slow test: `examples(n)` examples, other settings as given."""
    return settings(max_examples=examples(n), **kw)
