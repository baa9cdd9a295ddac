"""From a job to its translations: validate, normalise, cut into segments, call the predictor
(grouped by language pair, in bounded calls run concurrently), re-join. `translate_results`
does the same with the job's options (alternatives, scores), joined per text.

`TranslationPipeline` offers the same `translate(texts, source, target, headers)` and `ready()`
as `PredictorClient`, so the Kafka bridge can be given either; with the pipeline, Kafka records
get the same normalisation and long-text splitting as HTTP requests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from argos_protocol import TextTranslation
from argos_transformer import metrics
from argos_transformer.coalescing_client import CoalescingClient
from argos_transformer.codecs.job import Pair, TranslationJob
from argos_transformer.errors import InputTooLarge, InvalidInput, TransformerError
from argos_transformer.predictor_client import PredictorClient
from argos_transformer.text import Layout, join_results, lay_out, normalize

T = TypeVar("T")


@dataclass(frozen=True)
class PipelineLimits:
    max_texts: int = 256  # texts per request / record
    max_request_chars: int = 100_000  # characters per request / record, all texts together
    max_segment_chars: int = 2_000  # longer lines are cut at sentence ends, then spaces
    texts_per_call: int = 64  # segments per predictor call
    parallel_calls: int = 4  # concurrent predictor calls per request

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")


class TranslationPipeline:
    def __init__(
        self, client: PredictorClient | CoalescingClient, limits: PipelineLimits | None = None
    ) -> None:
        self.client = client
        self.limits = limits or PipelineLimits()

    async def translate(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> list[str]:
        return await self.translate_job(TranslationJob(tuple(texts), source, target), headers)

    async def translate_job(
        self, job: TranslationJob, headers: Mapping[str, str] | None = None
    ) -> list[str]:
        """One translation per text of `job`, in order (only the best: `job.options` are for
        `translate_results`)."""
        layouts, parts = await self._counted(self._segments(job, headers, self.client.translate))
        return [layout.join(texts) for layout, texts in zip(layouts, parts, strict=True)]

    async def translate_results(
        self, job: TranslationJob, headers: Mapping[str, str] | None = None
    ) -> list[TextTranslation]:
        """One result per text of `job`, in order, with the alternatives and scores its options
        ask for, each segment's joined back into its text (`join_results`)."""
        options = job.options

        def translate(
            texts: list[str], source: str | None, target: str | None,
            headers: Mapping[str, str] | None,
        ) -> Awaitable[list[TextTranslation]]:
            return self.client.translate_results(texts, source, target, options, headers)

        layouts, parts = await self._counted(self._segments(job, headers, translate))
        return [
            join_results(layout, results, options)
            for layout, results in zip(layouts, parts, strict=True)
        ]

    async def ready(self) -> bool:
        return await self.client.ready()

    async def _counted(self, work: Awaitable[T]) -> T:
        try:
            return await work
        except TransformerError as exc:
            metrics.ERRORS.labels(exc.error_class).inc()
            raise

    async def _segments(
        self,
        job: TranslationJob,
        headers: Mapping[str, str] | None,
        translate: Callable[
            [list[str], str | None, str | None, Mapping[str, str] | None], Awaitable[list[T]]
        ],
    ) -> tuple[list[Layout], list[list[T]]]:
        """Each text's layout and its segments' translations, in order."""
        layouts = self._lay_out(job)
        # segments grouped by language pair; each remembers where its translation goes
        groups: dict[Pair, list[tuple[int, int, str]]] = {}
        for text_index, ((_, source, target), layout) in enumerate(
            zip(job.items(), layouts, strict=True)
        ):
            group = groups.setdefault((source, target), [])
            group.extend(
                (text_index, segment_index, segment)
                for segment_index, segment in enumerate(layout.segments)
            )
        calls: list[tuple[list[tuple[int, int, str]], Awaitable[list[T]]]] = []
        size = self.limits.texts_per_call
        for (source, target), segments in groups.items():
            for start in range(0, len(segments), size):
                chunk = segments[start : start + size]
                texts = [segment for _, _, segment in chunk]
                calls.append((chunk, translate(texts, source, target, headers)))
        results = await self._run_all([call for _, call in calls])
        translated: list[list[Any]] = [[None] * len(layout.segments) for layout in layouts]
        for (chunk, _), translations in zip(calls, results, strict=True):
            for (text_index, segment_index, _), translation in zip(
                chunk, translations, strict=True
            ):
                translated[text_index][segment_index] = translation
        return layouts, translated

    def _lay_out(self, job: TranslationJob) -> list[Layout]:
        limits = self.limits
        if not job.texts:
            raise InvalidInput("no text to translate")
        if len(job.texts) > limits.max_texts:
            raise InputTooLarge(
                f"{len(job.texts)} texts in one request; the limit is {limits.max_texts}"
            )
        total = sum(len(text) for text in job.texts)
        if total > limits.max_request_chars:
            raise InputTooLarge(
                f"{total} characters in one request; the limit is {limits.max_request_chars}"
            )
        layouts = []
        for index, text in enumerate(job.texts):
            layout = lay_out(normalize(text), limits.max_segment_chars)
            if not layout.segments:
                where = "text" if len(job.texts) == 1 else f"text {index}"
                raise InvalidInput(f"{where} is empty after normalising whitespace")
            metrics.SEGMENTS_PER_TEXT.observe(len(layout.segments))
            layouts.append(layout)
        return layouts

    async def _run_all(self, calls: list[Awaitable[list[T]]]) -> list[list[T]]:
        """Run the calls at most `parallel_calls` at a time; the first failure cancels the rest."""
        if len(calls) == 1:
            return [await calls[0]]
        semaphore = asyncio.Semaphore(self.limits.parallel_calls)

        async def bounded(call: Awaitable[list[T]]) -> list[T]:
            async with semaphore:
                return await call

        tasks = [asyncio.ensure_future(bounded(call)) for call in calls]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for task in done:
                if task.exception() is not None:
                    raise task.exception()
            return [task.result() for task in tasks]
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
