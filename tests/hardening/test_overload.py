"""Above capacity the predictor and the transformer refuse at once (503 + Retry-After) instead of
queueing without bound; their queues never pass the limit, memory stays flat, and they serve
again afterwards. Bursts are made deterministic by pausing a process (SIGSTOP) while the
requests arrive, not by racing a stopwatch."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import psutil
import pytest

from tests.hardening.load import (
    V1_PATH,
    demo_batch,
    drive,
    queued_sentences,
    rss_bytes,
    single_latency,
)
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
            with contextlib.suppress(httpx.HTTPError):  # the server may be paused
                self.highest = max(self.highest, queued_sentences(self.base_url, self.gauge))
                self.samples += 1


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    """The process stopped (SIGSTOP) inside: it neither reads requests nor translates."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def wait_for(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def connected_clients(port: int) -> int:
    """Connections established to `port`, accepted or still in the listen backlog (a paused
    server accepts none, but the kernel completes their handshakes)."""
    return sum(
        1
        for connection in psutil.net_connections("tcp")
        if connection.laddr and connection.laddr.port == port
        and connection.status == psutil.CONN_ESTABLISHED
    )


class Burst(threading.Thread):
    """CLIENTS requests of TEXTS_PER_REQUEST texts sent at once; outcomes in completion order."""

    def __init__(self, base_url: str) -> None:
        super().__init__(daemon=True)
        self.base_url = base_url
        self.outcomes: list[tuple[int, bool]] = []  # (status, answer as expected)

    def refused(self) -> int:
        return sum(1 for status, _ in list(self.outcomes) if status == 503)

    def run(self) -> None:
        asyncio.run(self._send_all())

    async def _send_all(self) -> None:
        limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=120, limits=limits) as client:
            await asyncio.gather(*(self._one(client, index) for index in range(CLIENTS)))

    async def _one(self, client: httpx.AsyncClient, index: int) -> None:
        english, spanish = demo_batch(TEXTS_PER_REQUEST, index)
        response = await client.post(V1_PATH, json={"instances": english})
        if response.status_code == 200:
            expected = response.json()["predictions"] == spanish
        else:
            expected = (
                response.status_code == 503
                and "overloaded" in response.json()["error"]
                and "retry-after" in response.headers
            )
        self.outcomes.append((response.status_code, expected))


# Accepted out of one burst: what the queue holds (QUEUE_LIMIT / TEXTS_PER_REQUEST) plus what is
# being translated, with room for a batch finishing while the burst is read.
ACCEPTED_AT_MOST = QUEUE_LIMIT // TEXTS_PER_REQUEST + 4


def test_a_burst_beyond_the_predictor_queue_is_refused_without_waiting(
    small_queue_predictor: RunningPredictor,
) -> None:
    """Requests that arrive together while the queue is full are refused at once: every 503
    is answered before the accepted requests have all been translated."""
    server = small_queue_predictor
    pid = server.server.process.pid
    burst = Burst(server.base_url)
    watcher = QueueWatcher(server.base_url, "argos_queue_sentences")
    with paused(pid):
        burst.start()
        wait_for(lambda: connected_clients(server.http_port) >= CLIENTS, "the burst")
    watcher.start()
    burst.join(120)
    watcher.stopped.set()
    watcher.join(10)
    statuses = [status for status, _ in burst.outcomes]
    assert len(statuses) == CLIENTS
    assert all(expected for _, expected in burst.outcomes), burst.outcomes
    assert set(statuses) <= {200, 503}
    assert statuses.count(503) >= CLIENTS - ACCEPTED_AT_MOST, statuses
    last_served = max(i for i, status in enumerate(statuses) if status == 200)
    assert max(i for i, status in enumerate(statuses) if status == 503) < last_served
    assert watcher.highest <= QUEUE_LIMIT
    assert queued_sentences(server.base_url) == 0


def test_the_transformer_refuses_beyond_its_queue_while_the_predictor_stalls(
    predictor: RunningPredictor, small_queue_transformer: RunningServer
) -> None:
    """With its predictor stalled, the transformer holds one call and QUEUE_LIMIT waiting texts
    and answers every other request 503 at once; when the predictor comes back, every
    accepted request is translated."""
    burst = Burst(small_queue_transformer.base_url)
    accepted = QUEUE_LIMIT // TEXTS_PER_REQUEST + 1  # the queue, and the call in flight
    with paused(predictor.server.process.pid):
        burst.start()
        wait_for(lambda: burst.refused() >= CLIENTS - accepted, "the refusals")
        assert queued_sentences(
            small_queue_transformer.base_url, "argos_transformer_waiting_texts"
        ) <= QUEUE_LIMIT
    burst.join(120)
    statuses = [status for status, _ in burst.outcomes]
    assert all(expected for _, expected in burst.outcomes), burst.outcomes
    assert sorted(statuses) == [200] * accepted + [503] * (CLIENTS - accepted)
    assert queued_sentences(
        small_queue_transformer.base_url, "argos_transformer_waiting_texts"
    ) == 0


@pytest.mark.parametrize(
    ("server_fixture", "gauge"),
    [
        ("small_queue_predictor", "argos_queue_sentences"),
        ("small_queue_transformer", "argos_transformer_waiting_texts"),
    ],
)
def test_sustained_overload_keeps_queue_and_memory_bounded(
    request: pytest.FixtureRequest, server_fixture: str, gauge: str
) -> None:
    """Closed-loop clients beyond capacity: only 200s and 503s, exact translations, a queue
    that never passes its limit, flat memory, and an idle, serving server afterwards."""
    server: RunningServer = request.getfixturevalue(server_fixture)
    base = server.base_url
    pid = server.server.process.pid
    asyncio.run(drive(base, 4, 5, TEXTS_PER_REQUEST))  # warm-up, below capacity
    rss_before = rss_bytes(pid)
    watcher = QueueWatcher(base, gauge)
    watcher.start()
    try:
        result = asyncio.run(drive(base, CLIENTS, REQUESTS_PER_CLIENT, TEXTS_PER_REQUEST))
    finally:
        watcher.stopped.set()
        watcher.join(10)
    rss_after = rss_bytes(pid)
    print(
        f"{server_fixture} overload: statuses {result.statuses}, queue max {watcher.highest} "
        f"({watcher.samples} samples), RSS {rss_before / 2**20:.0f} -> "
        f"{rss_after / 2**20:.0f} MiB"
    )
    assert set(result.statuses) <= {200, 503}, result.statuses
    assert result.statuses.get(200, 0) >= CLIENTS, "nothing was served under overload"
    assert result.wrong == []
    assert watcher.samples > 0
    assert watcher.highest <= QUEUE_LIMIT
    assert rss_after < rss_before * 1.25
    assert queued_sentences(base, gauge) == 0
    single_latency(base)  # serves again
