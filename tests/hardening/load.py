"""Bounded load against a running server, and what to watch while it runs (RSS, queue gauge)."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from dataclasses import dataclass, field

import httpx
import psutil

from tests.conftest import DEMO_EXAMPLES

V1_PATH = "/v1/models/translator:predict"
QUEUE_GAUGE = "argos_queue_sentences"


def rss_bytes(pid: int) -> int:
    return psutil.Process(pid).memory_info().rss


def queued_sentences(base_url: str, gauge: str = QUEUE_GAUGE) -> float:
    """The value of a queue gauge on the server's /metrics (the predictor's by default)."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    match = re.search(rf"^{gauge} (\S+)$", text, re.M)
    if match is None:
        raise AssertionError(f"{gauge} is not exposed on /metrics")
    return float(match.group(1))


def demo_batch(
    size: int, offset: int = 0, sentences_per_text: int = 1
) -> tuple[list[str], list[str]]:
    """`size` texts of demo sentences and their exact translations."""
    english, spanish = [], []
    for i in range(size):
        pairs = [
            DEMO_EXAMPLES[(offset + i + j) % len(DEMO_EXAMPLES)] for j in range(sentences_per_text)
        ]
        english.append(" ".join(source for source, _ in pairs))
        spanish.append(" ".join(target for _, target in pairs))
    return english, spanish


@dataclass
class LoadResult:
    statuses: dict[int | str, int] = field(default_factory=dict)
    latencies: dict[int | str, list[float]] = field(default_factory=dict)
    translated: int = 0
    wrong: list[str] = field(default_factory=list)

    def record(self, status: int | str, seconds: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.latencies.setdefault(status, []).append(seconds)

    def median(self, status: int) -> float:
        return statistics.median(self.latencies[status])


async def drive(
    base_url: str, clients: int, requests_per_client: int, texts_per_request: int
) -> LoadResult:
    """`clients` concurrent clients, each sending `requests_per_client` V1 requests in a row."""
    result = LoadResult()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, timeout=120, limits=limits) as client:

        async def one_client(index: int) -> None:
            for number in range(requests_per_client):
                english, spanish = demo_batch(texts_per_request, index + number)
                started = time.monotonic()
                try:
                    response = await client.post(V1_PATH, json={"instances": english})
                except httpx.TransportError as exc:
                    result.record(type(exc).__name__, time.monotonic() - started)
                    continue
                result.record(response.status_code, time.monotonic() - started)
                if response.status_code == 200:
                    if response.json()["predictions"] != spanish:
                        result.wrong.append(response.text[:200])
                    result.translated += len(spanish)
                elif response.status_code == 503:
                    if "overloaded" not in response.json()["error"]:
                        result.wrong.append(response.text[:200])
                    if "retry-after" not in response.headers:
                        result.wrong.append("503 without Retry-After")

        await asyncio.gather(*(one_client(i) for i in range(clients)))
    return result


def single_latency(base_url: str, samples: int = 5) -> float:
    """Median wall time of a one-sentence request on an idle server."""
    times = []
    with httpx.Client(base_url=base_url, timeout=60) as client:
        for _ in range(samples):
            started = time.monotonic()
            response = client.post(V1_PATH, json={"instances": ["My city is big."]})
            assert response.status_code == 200, response.text
            times.append(time.monotonic() - started)
    return statistics.median(times)
