"""From a job to its translations: validate, normalise, cut into segments, call the predictor
(grouped by language pair, in bounded calls run concurrently), re-join. `translate_results`
does the same with the job's options (alternatives, scores), joined per text.

`explain_job` sends each text whole to the predictor's `:explain` (grouped and bounded the same
way, not normalised nor cut: the explanation's spans are offsets into the caller's text, and the
predictor explains a text sentence by sentence itself).

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

    async def explain_job(
        self, job: TranslationJob, headers: Mapping[str, str] | None = None
    ) -> list[dict[str, Any]]:
        """The predictor's explanation of each text of `job`, in order."""

        async def explain() -> list[dict[str, Any]]:
            self._check_size(job)
            pieces = [[text] for text in job.texts]
            explained = await self._grouped(job, pieces, headers, self.client.explain)
            return [explanations[0] for explanations in explained]

        return await self._counted(explain())

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
        segments = [list(layout.segments) for layout in layouts]
        return layouts, await self._grouped(job, segments, headers, translate)

    async def _grouped(
        self,
        job: TranslationJob,
        pieces: list[list[str]],
        headers: Mapping[str, str] | None,
        translate: Callable[
            [list[str], str | None, str | None, Mapping[str, str] | None], Awaitable[list[T]]
        ],
    ) -> list[list[T]]:
        """`translate`'s answer for each piece of each text (`pieces[i]` are text i's), in
        calls of one language pair and at most `texts_per_call` pieces, run concurrently."""
        # pieces grouped by language pair; each remembers where its answer goes
        groups: dict[Pair, list[tuple[int, int, str]]] = {}
        for text_index, ((_, source, target), text_pieces) in enumerate(
            zip(job.items(), pieces, strict=True)
        ):
            group = groups.setdefault((source, target), [])
            group.extend(
                (text_index, piece_index, piece) for piece_index, piece in enumerate(text_pieces)
            )
        calls: list[tuple[list[tuple[int, int, str]], Awaitable[list[T]]]] = []
        size = self.limits.texts_per_call
        for (source, target), group in groups.items():
            for start in range(0, len(group), size):
                chunk = group[start : start + size]
                texts = [piece for _, _, piece in chunk]
                calls.append((chunk, translate(texts, source, target, headers)))
        results = await self._run_all([call for _, call in calls])
        answers: list[list[Any]] = [[None] * len(text_pieces) for text_pieces in pieces]
        for (chunk, _), chunk_answers in zip(calls, results, strict=True):
            for (text_index, piece_index, _), answer in zip(chunk, chunk_answers, strict=True):
                answers[text_index][piece_index] = answer
        return answers

    def _lay_out(self, job: TranslationJob) -> list[Layout]:
        self._check_size(job)
        layouts = []
        for index, text in enumerate(job.texts):
            layout = lay_out(normalize(text), self.limits.max_segment_chars)
            if not layout.segments:
                where = "text" if len(job.texts) == 1 else f"text {index}"
                raise InvalidInput(f"{where} is empty after normalising whitespace")
            metrics.SEGMENTS_PER_TEXT.observe(len(layout.segments))
            layouts.append(layout)
        return layouts

    def _check_size(self, job: TranslationJob) -> None:
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
