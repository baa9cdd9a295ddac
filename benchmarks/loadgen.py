"""Bounded closed-loop load: `concurrency` workers send a fixed number of requests, stopping
early at a time cap, and every latency is recorded.

Throughput is measured while every caller is busy: from the `concurrency`-th answer (the first
round is in, the callers' arrivals are spread as the server answers them) to the answer after
which the last request is sent (from then on fewer than `concurrency` are in flight), as the
slope of answers over time. That is the steady state a server runs in under that load, and
what the engine limit is measured in; a run too short for that window is measured from first
request to last answer.

A request is an async callable `call(index) -> list[str]` (the translations it got back); the
outputs are kept by index so runs can be compared for equal outputs.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

Call = Callable[[int], Awaitable[list[str]]]


@dataclass
class LoadResult:
    label: str
    concurrency: int
    planned: int
    latencies_s: list[float] = field(default_factory=list)
    sentences: int = 0
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    capped: bool = False
    outputs: dict[int, str] = field(default_factory=dict)
    client_cpu_s: float | None = None
    server_cpu_s: float | None = None
    batch_sentences_mean: float | None = None  # the server's batches during the run
    engine_adjacent: float | None = None  # engine limit (sentences/s) just before and after
    # (seconds since the run started, sentences) per answer, in the order they came
    answers: list[tuple[float, int]] = field(default_factory=list)

    @property
    def completed(self) -> int:
        return len(self.latencies_s)

    @property
    def throughput(self) -> float:
        """Translated sentences per second while every caller was busy (the steady window),
        or over the whole run when it is shorter than three rounds."""
        window = self.steady_window()
        return self.whole_run_throughput if window is None else window[1]

    @property
    def whole_run_throughput(self) -> float:
        return self.sentences / self.seconds if self.seconds > 0 else 0.0

    def steady_window(self) -> tuple[float, int] | None:
        """(seconds, sentences/s) over the answers from the `concurrency`-th to the
        (answers - `concurrency`)-th, when at least three rounds were answered and nothing
        failed or was cut short. The rate is the least-squares slope of sentences answered
        over time: a batching server answers in clumps, and a rate between two single answers
        would move by up to a clump with where the window's ends fall."""
        count, rounds = len(self.answers), self.concurrency
        if self.errors or self.capped or count < 3 * rounds:
            return None
        window = self.answers[rounds - 1 : count - rounds]
        times, answered, total = [], [], 0
        for at, sentences in window:
            total += sentences
            times.append(at)
            answered.append(total)
        mean_t, mean_n = sum(times) / len(times), sum(answered) / len(answered)
        spread = sum((t - mean_t) ** 2 for t in times)
        if spread <= 0:
            return None
        slope = sum((t - mean_t) * (n - mean_n) for t, n in zip(times, answered, strict=True))
        return times[-1] - times[0], slope / spread

    def percentile_ms(self, q: float) -> float | None:
        return percentile(self.latencies_s, q) * 1000 if self.latencies_s else None

    def summary(self) -> dict:
        return {
            "concurrency": self.concurrency,
            "requests": self.completed,
            "planned": self.planned,
            "errors": len(self.errors),
            "first_error": self.errors[0] if self.errors else None,
            "seconds": round(self.seconds, 3),
            "capped": self.capped,
            "sentences_per_s": round(self.throughput, 2),
            "sentences_per_s_whole_run": round(self.whole_run_throughput, 2),
            "steady_window": self.steady_window() is not None,
            "p50_ms": _round(self.percentile_ms(50)),
            "p99_ms": _round(self.percentile_ms(99)),
            "client_cpu_ms_per_request": self._per_request_ms(self.client_cpu_s),
            "server_cpu_ms_per_request": self._per_request_ms(self.server_cpu_s),
            "batch_sentences_mean": _round(self.batch_sentences_mean),
            "engine_sentences_per_s_adjacent": _round(self.engine_adjacent),
        }

    def _per_request_ms(self, cpu_s: float | None) -> float | None:
        if cpu_s is None or not self.completed:
            return None
        return round(cpu_s * 1000 / self.completed, 2)


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of a non-empty sequence."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


async def run_load(
    label: str,
    call: Call,
    *,
    requests: int,
    concurrency: int,
    time_cap_s: float,
    first_index: int = 0,
    keep_outputs: bool = True,
    server_cpu: Callable[[], float | None] | None = None,
) -> LoadResult:
    """Send `requests` calls with `concurrency` in flight; no new call starts after the cap.

    `server_cpu` returns the server's CPU seconds so far: the run records its delta, and this
    process's own CPU time (the load generator's cost).
    """
    result = LoadResult(label, concurrency, requests)
    server_before = server_cpu() if server_cpu else None
    client_before = time.process_time()
    next_index = first_index
    end_index = first_index + requests
    started = time.perf_counter()
    deadline = started + time_cap_s

    async def worker() -> None:
        nonlocal next_index
        while next_index < end_index:
            if time.perf_counter() >= deadline:
                result.capped = True
                return
            index = next_index
            next_index += 1
            sent = time.perf_counter()
            try:
                outputs = await call(index)
            except Exception as exc:  # a failed request is counted, never retried
                result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            answered = time.perf_counter()
            result.latencies_s.append(answered - sent)
            result.sentences += len(outputs)
            result.answers.append((answered - started, len(outputs)))
            if keep_outputs and len(outputs) == 1:
                result.outputs[index] = outputs[0]

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    result.client_cpu_s = time.process_time() - client_before
    server_after = server_cpu() if server_cpu else None
    if server_before is not None and server_after is not None:
        result.server_cpu_s = server_after - server_before
    return result


async def warm_up(call: Call, count: int, concurrency: int, first_index: int = 0) -> None:
    """Untimed requests so first-batch allocations and connection set-up are not measured."""
    if count <= 0:
        return
    result = await run_load(
        "warm-up", call, requests=count, concurrency=min(concurrency, count),
        time_cap_s=120.0, first_index=first_index, keep_outputs=False,
    )
    if result.errors and not result.latencies_s:
        raise RuntimeError(f"warm-up failed: {result.errors[0]}")


async def run_paired(
    calls: dict[str, Call], *, requests: int, time_cap_s: float
) -> dict[str, LoadResult]:
    """One request at a time, alternating between the paths (a, b, a, b, ...), each path on
    the same sentence in turn: both see the same background load, so their latencies compare
    even on a busy machine."""
    results = {name: LoadResult(name, 1, requests) for name in calls}
    spent = {name: 0.0 for name in calls}
    deadline = time.perf_counter() + time_cap_s
    for index in range(requests):
        if time.perf_counter() >= deadline:
            for result in results.values():
                result.capped = True
            break
        for name, call in calls.items():
            result = results[name]
            sent = time.perf_counter()
            try:
                outputs = await call(index)
            except Exception as exc:
                result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
                continue
            elapsed = time.perf_counter() - sent
            spent[name] += elapsed
            result.latencies_s.append(elapsed)
            result.sentences += len(outputs)
    for name, result in results.items():
        result.seconds = spent[name]  # busy time of this path: throughput at concurrency 1
    return results
