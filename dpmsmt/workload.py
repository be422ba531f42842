"""Whether the work left is worth a process pool (`resilience` without `--jobs`).

Why: a worker is a fresh Python process that imports Z3 and rebuilds the caches the solver
leans on (the estate's pre-existing errors, its groups), about a second of CPU before its first
answer, and on a machine of two cores the parent competes with the workers. Measured on
models/good/realistic.yaml --failures 2 (23 sets solved): all CPUs 6.3 s, one process 5.4 s.
So sets are solved in this process, timing each, and a pool starts only when the sets still
waiting would keep this process busy for clearly longer than starting workers costs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["POOL_WORTH_SECONDS", "Workload", "cpus"]

POOL_WORTH_SECONDS = 20.0  # estimated in-process seconds left above which a pool pays
SAMPLES = 3  # sets solved here before the time per set is trusted


def cpus() -> int:
    """The processors this process may run on (the affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


@dataclass
class Workload:
    """The sets solved in this process so far and how long they took."""

    solved: int = 0
    seconds: float = 0.0
    worth_seconds: float = POOL_WORTH_SECONDS  # a test may ask for a pool sooner
    samples: int = SAMPLES

    def record(self, seconds: float) -> None:
        self.solved += 1
        self.seconds += seconds

    def worth_a_pool(self, waiting: int, processors: int) -> bool:
        """True when `waiting` more sets at the time per set measured so far would take longer
        than `worth_seconds` here, and there is more than one processor to share them."""
        if processors < 2 or waiting < 2 or self.solved < self.samples:
            return False
        return waiting * self.seconds / self.solved > self.worth_seconds
