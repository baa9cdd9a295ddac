"""Above capacity the predictor and the transformer refuse quickly (503 + Retry-After) instead of
queueing without bound; their queues never pass the limit, memory stays flat, and latency
recovers afterwards."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from tests.hardening.load import drive, queued_sentences, rss_bytes, single_latency
from tests.support.predictor import RunningPredictor, start_kserve_predictor
from tests.support.processes import RunningServer
from tests.transformer.conftest import start_transformer

QUEUE_LIMIT = 64
TEXTS_PER_REQUEST = 16  # at most the limit, so one request alone never passes it
CLIENTS = 24
REQUESTS_PER_CLIENT = 12


@pytest.fixture(scope="module")
def small_queue_predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPredictor]:
    running = start_kserve_predictor(
        tmp_path_factory.mktemp("overload"),
        "--max_queue_sentences", str(QUEUE_LIMIT),
        "--max_batch_sentences", "16",
        "--max_wait_ms", "5",
        "--inter_threads", "1",  # one batch at a time, whatever the machine: a known capacity
    )
    yield running
    running.stop()


@pytest.fixture(scope="module")
def small_queue_transformer(
    predictor: RunningPredictor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """A transformer (in front of the predictor with default limits) that queues at most
    QUEUE_LIMIT texts behind one predictor call of 16."""
    running = start_transformer(
        tmp_path_factory.mktemp("overload-transformer"),
        f"127.0.0.1:{predictor.http_port}",
        "v2",
        "--max_queued_texts", str(QUEUE_LIMIT),
        "--predictor_calls_in_flight", "1",
        "--texts_per_call", "16",
    )
    yield running
    running.server.stop()


class QueueWatcher(threading.Thread):
    """Scrapes a queue gauge until stopped; keeps the largest value seen."""

    def __init__(self, base_url: str, gauge: str) -> None:
        super().__init__(daemon=True)
        self.base_url = base_url
        self.gauge = gauge
        self.highest = 0.0
        self.samples = 0
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.02):
            self.highest = max(self.highest, queued_sentences(self.base_url, self.gauge))
            self.samples += 1


@pytest.mark.parametrize(
    ("server_fixture", "gauge"),
    [
        ("small_queue_predictor", "argos_queue_sentences"),
        ("small_queue_transformer", "argos_transformer_waiting_texts"),
    ],
)
def test_overload_is_refused_quickly_with_a_bounded_queue(
    request: pytest.FixtureRequest, server_fixture: str, gauge: str
) -> None:
    server: RunningServer = request.getfixturevalue(server_fixture)
    base = server.base_url
    pid = server.server.process.pid
    asyncio.run(drive(base, 4, 5, TEXTS_PER_REQUEST))  # warm-up, below capacity
    idle_latency = single_latency(base)
    rss_before = rss_bytes(pid)

    watcher = QueueWatcher(base, gauge)
    watcher.start()
    try:
        result = asyncio.run(drive(base, CLIENTS, REQUESTS_PER_CLIENT, TEXTS_PER_REQUEST))
    finally:
        watcher.stopped.set()
        watcher.join(10)
    rss_after = rss_bytes(pid)
    recovered_latency = single_latency(base)

    print(
        f"{server_fixture} overload: statuses {result.statuses}, queue max {watcher.highest} "
        f"({watcher.samples} samples), 503 median {result.median(503) * 1000:.0f} ms, "
        f"200 median {result.median(200) * 1000:.0f} ms, RSS {rss_before / 2**20:.0f} -> "
        f"{rss_after / 2**20:.0f} MiB, idle latency {idle_latency * 1000:.0f} -> "
        f"{recovered_latency * 1000:.0f} ms"
    )
    assert set(result.statuses) <= {200, 503}, result.statuses
    assert result.statuses.get(503, 0) >= CLIENTS, "the load never overloaded the server"
    assert result.statuses.get(200, 0) >= CLIENTS, "nothing was served under overload"
    assert result.wrong == []
    assert watcher.samples > 0
    assert watcher.highest <= QUEUE_LIMIT
    # Refusing is cheaper than serving: no waiting in a queue for a 503.
    assert result.median(503) < result.median(200)
    assert rss_after < rss_before * 1.25
    # After the load the server is as fast as before (generous margin: a busy shared machine).
    assert recovered_latency < idle_latency * 3 + 0.25
    assert queued_sentences(base, gauge) == 0
