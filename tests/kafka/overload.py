"""Drive the real predictor into its real overload: competing clients send large V1 batches as
fast as it answers, so its bounded queue (`--max_queue_sentences`) stays full and everyone else
(the Kafka bridge) gets 503 "overloaded" with Retry-After until the flood stops."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import httpx

from tests.conftest import DEMO_EXAMPLES
from tests.kafka.services import MODEL


@dataclass
class FloodResult:
    accepted: int = 0
    refused: int = 0  # 503 with "overloaded" in the error and a Retry-After header
    other: list[str] = field(default_factory=list)  # anything else: a bug in the predictor


class Flood:
    """`Flood(predictor_host, seconds).start()` ... `.join()` -> FloodResult."""

    def __init__(
        self, predictor_host: str, seconds: float, clients: int = 6, sentences: int = 64
    ) -> None:
        self._url = f"http://{predictor_host}/v1/models/{MODEL}:predict"
        self._seconds = seconds
        self._body = {
            "instances": [DEMO_EXAMPLES[n % len(DEMO_EXAMPLES)][0] for n in range(sentences)]
        }
        self._lock = threading.Lock()
        self.result = FloodResult()
        self._threads = [
            threading.Thread(target=self._client, name=f"flood-{n}", daemon=True)
            for n in range(clients)
        ]

    def start(self) -> Flood:
        self._deadline = time.monotonic() + self._seconds
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> FloodResult:
        for thread in self._threads:
            thread.join(self._seconds + 60)
        return self.result

    def _client(self) -> None:
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < self._deadline:
                try:
                    response = client.post(self._url, json=self._body)
                except httpx.HTTPError as exc:
                    self._count(f"{type(exc).__name__}: {exc}")
                    continue
                if response.status_code == 200:
                    self._count(None, accepted=True)
                elif (
                    response.status_code == 503
                    and "overloaded" in response.json().get("error", "")
                    and response.headers.get("retry-after")
                ):
                    self._count(None, accepted=False)
                    time.sleep(0.005)  # the queue was full a moment ago; no need to spin
                else:
                    self._count(f"{response.status_code}: {response.text[:200]}")

    def _count(self, problem: str | None, accepted: bool = False) -> None:
        with self._lock:
            if problem is not None:
                self.result.other.append(problem)
            elif accepted:
                self.result.accepted += 1
            else:
                self.result.refused += 1


def flood(predictor_host: str, seconds: float) -> FloodResult:
    """Overload the predictor for `seconds` (blocking); returns what the flood saw."""
    return Flood(predictor_host, seconds).start().join()
