"""Concurrent translations for the same language pair share predictor calls.

At most `max_calls_in_flight` calls to the predictor run at once. Translations that arrive in
the same event-loop iteration (a burst of records from one Kafka poll, requests read from one
socket batch) leave together as soon as that iteration ends, in a free slot; when no slot is
free they wait, and when one frees up the waiting ones for one pair leave together in a single
call of at most `max_texts_per_call` texts. An idle transformer adds no latency. At most
`max_waiting_texts` texts wait: beyond that a call fails at once with `TransformerOverloaded`
(503, Retry-After), so overload is refused quickly instead of queueing without bound. Under
load the predictor then sees a few large requests instead of many one-text ones, which costs
both sides far less per text (docs/benchmarks.md).

Calls are merged only when they carry the same `authorization` header and the same options
(`alternatives`, `return_scores`: the predictor decodes those requests apart anyway, and each
caller must get exactly what it asked for). A merged call forwards
the headers every merged caller sent with the same value (so distinct `x-request-id` or
`traceparent` values are not forwarded on merged calls). When a merged call fails with a
permanent error, each caller's texts are sent again on their own, so only the caller whose
input the predictor refuses gets that error; a transient error (unavailable, overloaded,
timeout) reaches every merged caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from argos_protocol import TextTranslation, TranslationOptions
from argos_protocol.logs import REQUEST_ID_HEADER, request_id
from argos_transformer import metrics
from argos_transformer.errors import TransformerError, TransformerOverloaded
from argos_transformer.headers import forwardable
from argos_transformer.predictor_client import PredictorClient

log = logging.getLogger(__name__)

# source, target, authorization, options (None for a plain call: only the best translations)
CallKey = tuple[str | None, str | None, str | None, TranslationOptions | None]
# A plain call's answers are the translations; a call with options answers TextTranslations.
Answers = list[str] | list[TextTranslation]


@dataclass
class _Waiter:
    texts: Sequence[str]
    headers: dict[str, str]
    future: asyncio.Future[Answers]


@dataclass
class _LoopState:
    """Queue and in-flight count of one event loop (the server's, or the Kafka bridge's)."""

    waiting: dict[CallKey, deque[_Waiter]] = field(default_factory=dict)
    waiting_texts: int = 0
    in_flight: int = 0
    dispatch_scheduled: bool = False
    tasks: set[asyncio.Task[None]] = field(default_factory=set)


class CoalescingClient:
    def __init__(
        self,
        client: PredictorClient,
        max_texts_per_call: int,
        max_calls_in_flight: int,
        max_waiting_texts: int = 4096,
        retry_after_s: float = 1.0,
    ) -> None:
        limits = {
            "max_texts_per_call": max_texts_per_call,
            "max_calls_in_flight": max_calls_in_flight,
            "max_waiting_texts": max_waiting_texts,
        }
        for name, value in limits.items():
            if value < 1:
                raise ValueError(f"{name} must be >= 1, got {value}")
        self.client = client
        self.max_texts_per_call = max_texts_per_call
        self.max_calls_in_flight = max_calls_in_flight
        self.max_waiting_texts = max_waiting_texts
        self.retry_after_s = retry_after_s
        self._states: dict[asyncio.AbstractEventLoop, _LoopState] = {}

    async def translate(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Translate `texts`, alone or together with concurrent calls for the same pair."""
        return await self._queue(texts, source, target, headers, None)

    async def translate_results(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        options: TranslationOptions,
        headers: Mapping[str, str] | None = None,
    ) -> list[TextTranslation]:
        """Like `translate`, with the alternatives and scores `options` ask for; shared only
        with concurrent calls that ask for the same."""
        return await self._queue(texts, source, target, headers, options)

    async def _queue(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        headers: Mapping[str, str] | None,
        options: TranslationOptions | None,
    ) -> Answers:
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        state = self._states.setdefault(loop, _LoopState())
        # Texts the next dispatch sends at once (free slots) do not count as waiting.
        leaving = (self.max_calls_in_flight - state.in_flight) * self.max_texts_per_call
        if state.waiting_texts + len(texts) > self.max_waiting_texts + leaving:
            raise TransformerOverloaded(
                f"transformer overloaded: {state.waiting_texts} texts already wait for the "
                f"predictor (limit {self.max_waiting_texts}); retry later",
                self.retry_after_s,
            )
        forwarded = forwardable(headers, request_id.get())  # the caller's id, when it has one
        waiter = _Waiter(texts, forwarded, loop.create_future())
        key = (source, target, forwarded.get("authorization"), options)
        state.waiting.setdefault(key, deque()).append(waiter)
        state.waiting_texts += len(texts)
        metrics.WAITING_TEXTS.inc(len(texts))
        if not state.dispatch_scheduled:
            # Dispatch once the callers this iteration already runs have queued too: without
            # it the first callers of a burst each take a slot alone and the rest wait for them.
            state.dispatch_scheduled = True
            loop.call_soon(self._dispatch_scheduled, state)
        return await waiter.future

    async def explain(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """Explanations go to the predictor as they come: it batches concurrent explains
        itself, and an explanation is never shared with a translation call."""
        return await self.client.explain(texts, source, target, headers)

    def describe(self) -> str:
        return f"{self.client.describe()}, up to {self.max_calls_in_flight} calls in flight"

    async def ready(self) -> bool:
        return await self.client.ready()

    async def aclose(self) -> None:
        await self.client.aclose()

    def _dispatch_scheduled(self, state: _LoopState) -> None:
        state.dispatch_scheduled = False
        self._dispatch(state)

    def _dispatch(self, state: _LoopState) -> None:
        while state.in_flight < self.max_calls_in_flight and state.waiting:
            key = next(iter(state.waiting))  # the pair that has waited longest
            batch = self._take(state, key)
            if not batch:
                continue
            state.in_flight += 1
            task = asyncio.ensure_future(self._call(state, key, batch))
            state.tasks.add(task)  # a reference until done, so the task is not collected
            task.add_done_callback(state.tasks.discard)

    def _take(self, state: _LoopState, key: CallKey) -> list[_Waiter]:
        """The next call's callers for `key`: at least one, at most max_texts_per_call texts."""
        queue = state.waiting[key]
        batch: list[_Waiter] = []
        texts = sent = 0  # texts leaving the queue (sent or cancelled) / sent in this call
        while queue:
            waiter = queue[0]
            if waiter.future.done():  # its caller was cancelled while waiting
                texts += len(queue.popleft().texts)
                continue
            if batch and sent + len(waiter.texts) > self.max_texts_per_call:
                break
            batch.append(queue.popleft())
            sent += len(waiter.texts)
        texts += sent
        state.waiting_texts -= texts
        metrics.WAITING_TEXTS.dec(texts)
        if not queue:
            del state.waiting[key]
        return batch

    async def _call(self, state: _LoopState, key: CallKey, batch: list[_Waiter]) -> None:
        try:
            metrics.CALLERS_PER_UPSTREAM_CALL.observe(len(batch))
            texts = [text for waiter in batch for text in waiter.texts]
            headers = _common_headers(batch)
            # (this task's log lines name the callers' common id: none when merged ids differ)
            request_id.set(headers.get(REQUEST_ID_HEADER))
            try:
                translations = await self._send(key, texts, headers)
            except TransformerError as exc:
                if len(batch) > 1 and not exc.transient:
                    # (each caller's own outcome is what gets logged)
                    log.debug("merged call refused (%s): retrying its %d callers one by one",
                             exc.error_class, len(batch))
                    await asyncio.gather(*(self._call_alone(key, w) for w in batch))
                else:
                    _fail(batch, exc)
                return
            except Exception as exc:  # not ours to judge: every caller sees it
                _fail(batch, exc)
                return
            except asyncio.CancelledError:  # the loop is shutting down
                for waiter in batch:
                    waiter.future.cancel()
                raise
            start = 0
            for waiter in batch:
                end = start + len(waiter.texts)
                if not waiter.future.done():
                    waiter.future.set_result(translations[start:end])
                start = end
        finally:
            state.in_flight -= 1
            self._dispatch(state)

    async def _call_alone(self, key: CallKey, waiter: _Waiter) -> None:
        request_id.set(waiter.headers.get(REQUEST_ID_HEADER))  # (its own task, from gather)
        try:
            result = await self._send(key, waiter.texts, waiter.headers)
        except Exception as exc:
            _fail([waiter], exc)
        else:
            if not waiter.future.done():
                waiter.future.set_result(result)

    def _send(
        self, key: CallKey, texts: Sequence[str], headers: Mapping[str, str]
    ) -> Awaitable[Answers]:
        source, target, _, options = key
        if options is None:
            return self.client.translate(texts, source, target, headers)
        return self.client.translate_results(texts, source, target, options, headers)


def _common_headers(batch: list[_Waiter]) -> dict[str, str]:
    first, *others = batch
    return {
        name: value
        for name, value in first.headers.items()
        if all(other.headers.get(name) == value for other in others)
    }


def _fail(batch: list[_Waiter], exc: BaseException) -> None:
    for waiter in batch:
        if not waiter.future.done():
            waiter.future.set_exception(exc)
