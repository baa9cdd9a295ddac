from __future__ import annotations

import random

import pytest

from argos_transformer.kafka.retry import Backoff, RetryBudget


def test_backoff_grows_exponentially_then_caps() -> None:
    backoff = Backoff(base_s=0.1, cap_s=2.0, rng=random.Random(1))
    delays = [backoff.delay(attempt) for attempt in range(1, 12)]
    for attempt, delay in enumerate(delays, start=1):
        step = min(2.0, 0.1 * 2 ** (attempt - 1))
        assert step / 2 <= delay <= step
    assert max(delays) <= 2.0
    assert backoff.delay(10_000) <= 2.0  # no overflow for huge attempt numbers


def test_backoff_attempts_start_at_one() -> None:
    with pytest.raises(ValueError):
        Backoff(0.1, 1.0).delay(0)


def test_budget_zero_means_forever() -> None:
    budget = RetryBudget(0)
    budget.record_failure(now=0)
    assert not budget.exhausted(now=1e9)


def test_budget_counts_from_the_first_failure() -> None:
    budget = RetryBudget(5)
    assert not budget.exhausted(now=100)
    budget.record_failure(now=100)
    budget.record_failure(now=103)  # later failures do not restart the clock
    assert not budget.exhausted(now=104.9)
    assert budget.exhausted(now=105)
