"""The outcome of one record: its translation, retried through transient faults, or a dead letter.

Transient faults (predictor down, overloaded, timing out) are retried with capped backoff while
the record's partition is paused; they never reach the dead-letter topic. Permanent faults (the
record itself is bad, or the predictor refuses it) become a dead-letter record. A record still
failing transiently after the retry budget stops ingestion (`IngestionFailed`) uncommitted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from argos_protocol import TextTranslation
from argos_protocol.logs import request_context
from argos_transformer.codecs.job import TranslationJob
from argos_transformer.codecs.records import decode_record_value
from argos_transformer.headers import forwardable
from argos_transformer.kafka import metrics
from argos_transformer.kafka.faults import Fault
from argos_transformer.kafka.outbound import (
    InboundRecord,
    OutboundRecord,
    coordinates_id,
    dead_letter_record,
    translation_record,
)
from argos_transformer.kafka.partitions import PartitionState
from argos_transformer.kafka.retry import Backoff, RetryBudget
from argos_transformer.kafka.settings import KafkaSettings
from argos_transformer.request_ids import kafka_record_id

log = logging.getLogger("argos_transformer.kafka")

# One result per text of the job, with its score when the settings ask for scores.
TranslateJob = Callable[[TranslationJob, Mapping[str, str]], Awaitable[list[TextTranslation]]]


class IngestionFailed(RuntimeError):
    """Ingestion cannot go on (a record failing past the retry budget, a fatal client error):
    it stops, and what is not committed is read again after the restart."""


class Abandoned(Exception):
    """The record's partition span was revoked or rewound while its outcome was being decided."""


class RecordOutcomes:
    """Decides each record's outcome; `on_failure` is called when ingestion must stop."""

    def __init__(
        self,
        settings: KafkaSettings,
        translate_job: TranslateJob,
        on_failure: Callable[[IngestionFailed], None],
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        self._translate_job = translate_job
        self._on_failure = on_failure
        self._backoff = backoff or Backoff(settings.retry_backoff_s, settings.retry_backoff_max_s)
        self._retrying = 0  # records currently retrying a transient fault, for the logs

    async def outcome(self, state: PartitionState, record: InboundRecord) -> OutboundRecord:
        """(Run as the record's own task: its log lines, and the predictor's, carry its id.)"""
        with request_context(self._request_id(record)):
            try:
                return await self._translate_or_dead_letter(state, record)
            except (asyncio.CancelledError, Abandoned):
                raise
            except Exception as exc:  # a defect must not stall the partition
                log.exception("kafka unexpected failure on record %s", coordinates_id(record))
                return self.dead_letter(record, Fault.of(exc), 1, None)

    @staticmethod
    def _request_id(record: InboundRecord) -> str:
        return kafka_record_id(record.topic, record.partition, record.offset, record.headers)

    async def _translate_or_dead_letter(
        self, state: PartitionState, record: InboundRecord
    ) -> OutboundRecord:
        settings = self.settings
        fallback_id = coordinates_id(record)
        try:
            job = decode_record_value(
                record.value, max_bytes=settings.max_record_bytes, record_id=fallback_id
            )
        except Exception as exc:  # every decoding failure is the record's
            return self.dead_letter(record, Fault.of(exc), 1, fallback_id)
        headers = forwardable(_text_headers(record))
        budget = RetryBudget(settings.retry_budget_s)
        attempt = 0
        retrying = False
        try:
            while True:
                attempt += 1
                try:
                    results = await self._translate_job(job, headers)
                    if len(results) != len(job.texts):
                        raise ValueError(
                            f"{len(results)} translations for {len(job.texts)} texts"
                        )
                    return translation_record(
                        settings.output_topic, record, job, results, settings.output_scores
                    )
                except Exception as exc:  # classified below
                    fault = Fault.of(exc)
                if not fault.transient:
                    return self.dead_letter(record, fault, attempt, job.id)
                if not retrying:
                    retrying = True
                    state.retrying += 1  # pauses the partition until this record gets through
                    self._retrying_changed(+1, fault)
                budget.record_failure()
                metrics.RETRIED.labels(fault.error_class).inc()
                if budget.exhausted():
                    self._on_failure(IngestionFailed(
                        f"record {coordinates_id(record)} still failing after {attempt} attempts "
                        f"over the {settings.retry_budget_s:g}s retry budget: {fault.message}"
                    ))
                    raise Abandoned
                delay = self._backoff.delay(attempt)
                log.debug(
                    "kafka transient fault record=%s attempt=%d error=%s status=%s "
                    "retry_in=%.2fs message=%r", fallback_id, attempt, fault.error_class,
                    fault.status, delay, fault.message,
                )
                await asyncio.sleep(delay)
        finally:
            if retrying:
                state.retrying -= 1
                self._retrying_changed(-1, None)

    def _retrying_changed(self, change: int, fault: Fault | None) -> None:
        """Log when records start retrying and when none are left (not every attempt)."""
        before = self._retrying
        self._retrying += change
        if before == 0 and self._retrying > 0 and fault is not None:
            log.warning(
                "kafka transient fault, retrying with backoff (partitions paused) error=%s "
                "status=%s message=%r", fault.error_class, fault.status, fault.message,
            )
        elif before > 0 and self._retrying == 0:
            log.info("kafka retries over: every retried record got through or was released")

    def dead_letter(
        self, record: InboundRecord, fault: Fault, attempts: int, record_id: str | None
    ) -> OutboundRecord:
        log.warning(
            "kafka dead-lettering record=%s-%d-%d error=%s status=%s message=%r",
            record.topic, record.partition, record.offset, fault.error_class, fault.status,
            fault.message,
        )
        return dead_letter_record(
            self.settings.dead_letter_topic, record, fault, attempts, record_id,
            request_id=self._request_id(record),
        )


def _text_headers(record: InboundRecord) -> dict[str, str]:
    headers = {}
    for name, value in record.headers or ():
        if value is not None:
            headers[name] = value.decode("utf-8", "replace")
    return headers
