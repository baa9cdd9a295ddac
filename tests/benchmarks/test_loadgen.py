"""The load generator's throughput window: answers while every caller was busy."""

from __future__ import annotations

import asyncio

import pytest

from benchmarks.loadgen import LoadResult, run_load


def result_with(answers: list[tuple[float, int]], concurrency: int) -> LoadResult:
    result = LoadResult("synthetic", concurrency, len(answers))
    result.answers = answers
    result.latencies_s = [0.1] * len(answers)
    result.sentences = sum(n for _, n in answers)
    result.seconds = answers[-1][0] + 1.0  # a slow last round and ramp
    return result


def test_throughput_is_the_answer_rate_between_the_first_and_last_rounds() -> None:
    # Two callers; answers every 0.1 s after a slow first round at 1.0 s.
    answers = [(1.0, 1), (1.0, 1)] + [(1.0 + 0.1 * i, 1) for i in range(1, 9)]
    result = result_with(answers, concurrency=2)
    # Window: from the 2nd answer (1.0 s) to the 8th (1.6 s), one answer per 0.1 s.
    seconds, rate = result.steady_window()
    assert seconds == pytest.approx(0.6)
    assert rate == pytest.approx(10.0)
    assert result.throughput == pytest.approx(10.0)
    assert result.whole_run_throughput == pytest.approx(10 / 2.8)


def test_clumped_answers_give_the_clump_rate_wherever_the_window_ends() -> None:
    # A batching server: 4 answers at once every second (4 sentences/s), 4 callers.
    for clumps, partial in ((8, 0), (8, 1), (8, 3)):
        answers = [(float(k), 1) for k in range(1, clumps + 1) for _ in range(4)]
        answers += [(clumps + 1.0, 1)] * partial
        result = result_with(answers, concurrency=4)
        assert result.throughput == pytest.approx(4.0, rel=0.1), (clumps, partial)


def test_short_failed_or_capped_runs_use_the_whole_run() -> None:
    short = result_with([(0.1 * i, 1) for i in range(1, 6)], concurrency=2)
    assert short.steady_window() is None
    assert short.throughput == short.whole_run_throughput
    failed = result_with([(0.1 * i, 1) for i in range(1, 11)], concurrency=2)
    failed.errors.append("HTTPError: 503")
    assert failed.steady_window() is None
    capped = result_with([(0.1 * i, 1) for i in range(1, 11)], concurrency=2)
    capped.capped = True
    assert capped.throughput == capped.whole_run_throughput


def test_run_load_records_every_answer_in_order() -> None:
    async def call(index: int) -> list[str]:
        await asyncio.sleep(0.001 * (index % 3))
        return [f"t{index}"]

    result = asyncio.run(run_load("echo", call, requests=24, concurrency=4, time_cap_s=30))

    assert len(result.answers) == 24 == result.completed
    times = [at for at, _ in result.answers]
    assert times == sorted(times)
    assert result.summary()["steady_window"] is True
    assert result.summary()["sentences_per_s"] > 0
