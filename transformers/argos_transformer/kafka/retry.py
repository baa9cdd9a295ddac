"""Retrying transient faults: capped exponential backoff with jitter, and a time budget."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backoff:
    """Delay before retry number `attempt` (1-based): base·2^(attempt-1), capped, jittered.

    Jitter is "equal jitter" (between half and all of the step) so that records that failed
    together do not all come back at the same instant, yet the delay never collapses to zero.
    """

    base_s: float
    cap_s: float
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int) -> float:
        if attempt < 1:
            raise ValueError("attempt numbers start at 1")
        step = min(self.cap_s, self.base_s * 2 ** min(attempt - 1, 62))
        return step / 2 + self.rng.uniform(0, step / 2)


@dataclass
class RetryBudget:
    """How long one record may keep failing transiently; 0 seconds means forever."""

    seconds: float
    first_failure: float | None = None

    def record_failure(self, now: float | None = None) -> None:
        if self.first_failure is None:
            self.first_failure = time.monotonic() if now is None else now

    def exhausted(self, now: float | None = None) -> bool:
        if self.seconds <= 0 or self.first_failure is None:
            return False
        return (time.monotonic() if now is None else now) - self.first_failure >= self.seconds
