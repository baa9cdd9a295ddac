"""A bounded soak: many translations through one predictor, memory flat after warm-up.

`make test` runs the full 50,000 (about a minute on 2 cores); `make soak SOAK_TRANSLATIONS=N`
runs longer ones.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest

from tests.hardening.load import drive, rss_bytes
from tests.support.predictor import RunningPredictor, start_kserve_predictor

TRANSLATIONS = int(os.environ.get("ARGOS_SOAK_TRANSLATIONS", "50000"))
CLIENTS = 4
TEXTS_PER_REQUEST = 64
WARM_UP_TRANSLATIONS = 4 * CLIENTS * TEXTS_PER_REQUEST
ROUNDS = 4


@pytest.fixture(scope="module")
def soak_predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPredictor]:
    running = start_kserve_predictor(tmp_path_factory.mktemp("soak"))
    yield running
    running.stop()


def test_soak_keeps_memory_flat(soak_predictor: RunningPredictor) -> None:
    base = soak_predictor.base_url
    pid = soak_predictor.server.process.pid
    warm_up = asyncio.run(drive(base, CLIENTS, 4, TEXTS_PER_REQUEST))
    assert warm_up.translated == WARM_UP_TRANSLATIONS
    baseline = rss_bytes(pid)
    per_request_round = ROUNDS * CLIENTS * TEXTS_PER_REQUEST
    per_round = max(1, -(-(TRANSLATIONS - WARM_UP_TRANSLATIONS) // per_request_round))
    translated = warm_up.translated
    samples = []
    for _ in range(ROUNDS):
        result = asyncio.run(drive(base, CLIENTS, per_round, TEXTS_PER_REQUEST))
        assert result.statuses == {200: CLIENTS * per_round}, result.statuses
        assert result.wrong == []
        translated += result.translated
        samples.append(rss_bytes(pid))
    growth = (samples[-1] - baseline) / baseline
    print(
        f"soak: {translated} translations, RSS after warm-up {baseline / 2**20:.1f} MiB, "
        f"per round {[round(s / 2**20, 1) for s in samples]} MiB, growth {growth:.1%}"
    )
    assert translated >= TRANSLATIONS
    assert growth < 0.10
