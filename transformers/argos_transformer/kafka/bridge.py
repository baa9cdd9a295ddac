"""Kafka ingestion inside the transformer process: one background thread with its own event loop.

`KafkaBridge(settings, client).start()` connects (retrying while the brokers are unreachable),
joins the consumer group and runs the delivery loop; `stop()` drains it: stop polling, finish
in-flight records (bounded), commit, leave the group, flush the producer.

`client` is the transformer's one predictor client: a `TranslationPipeline` (so records get the
same normalisation and splitting as HTTP requests) or a bare `PredictorClient`, which is wrapped
in a pipeline. The client keeps one transport per event loop, so the bridge's loop has its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any

from kafka import AsyncConsumerRebalanceListener, KafkaConsumer
from kafka.structs import TopicPartition

from argos_protocol import TextTranslation, TranslationOptions
from argos_transformer.codecs.job import TranslationJob
from argos_transformer.kafka.clients import connect, new_producer
from argos_transformer.kafka.compat import forget_revoked_positions
from argos_transformer.kafka.delivery_loop import DeliveryLoop
from argos_transformer.kafka.outcome import IngestionFailed
from argos_transformer.kafka.settings import KafkaSettings
from argos_transformer.pipeline import TranslationPipeline

log = logging.getLogger("argos_transformer.kafka")

TERMINATE_GRACE_S = 60.0
# With KAFKA_OUTPUT_SCORES the predictor is asked for scores only (a record's own options are
# not read: an output record holds one translation per text).
SCORES = TranslationOptions(return_scores=True)


def terminate_process(reason: str) -> None:
    """Default reaction to ingestion failing for good: SIGTERM this process, so it shuts down
    and the orchestrator restarts it; uncommitted records are read again then.

    If the process is still alive after a grace period (the signal came before the server could
    handle it), it exits hard: the bridge has already committed what it finished."""
    log.critical("kafka ingestion failed, terminating the process: %s", reason)
    os.kill(os.getpid(), signal.SIGTERM)

    def hard_exit() -> None:
        log.critical("still running %.0fs after SIGTERM; exiting", TERMINATE_GRACE_S)
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(TERMINATE_GRACE_S, hard_exit)
    timer.daemon = True
    timer.start()


class _RebalanceListener(AsyncConsumerRebalanceListener):
    """kafka-python awaits these on its IO thread, inside poll(). The work runs on the bridge
    loop; they await its result without blocking the IO loop (heartbeats and responses go on)."""

    def __init__(self, delivery: DeliveryLoop, consumer: KafkaConsumer) -> None:
        self._delivery = delivery
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        offsets = await self._delivery.on_loop(
            self._consumer, lambda: self._delivery.partitions_revoked(revoked), {}
        )
        if offsets:
            try:
                await self._consumer.commit_async(offsets)
            except Exception as exc:  # the next owner re-reads from the previous commit
                log.warning("kafka commit on revoke failed: %r", exc)
        forget_revoked_positions(self._consumer, revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._delivery.on_loop(
            self._consumer, lambda: self._delivery.partitions_assigned(assigned), None
        )

    async def on_partitions_lost(self, lost: set[TopicPartition]) -> None:
        await self._delivery.on_loop(
            self._consumer, lambda: self._delivery.partitions_revoked(lost, lost=True), {}
        )


class KafkaBridge:
    def __init__(
        self,
        settings: KafkaSettings,
        client: Any,
        on_failure: Callable[[str], None] | None = terminate_process,
    ) -> None:
        self.settings = settings
        self._pipeline = client if hasattr(client, "translate_job") else TranslationPipeline(client)
        self._on_failure = on_failure
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._delivery: DeliveryLoop | None = None
        self._lock = threading.Lock()
        self._consuming = threading.Event()
        self.failure: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def consuming(self) -> bool:
        """Connected to the brokers and in the delivery loop."""
        return self._consuming.is_set()

    @property
    def failed(self) -> bool:
        return self.failure is not None

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the Kafka bridge was already started")
        self._thread = threading.Thread(target=self._thread_main, name="kafka-bridge", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Drain and stop; True if it finished within `timeout` (default: drain timeout + 15s)."""
        self._stopping.set()
        with self._lock:
            delivery = self._delivery
        if delivery is not None:
            delivery.request_stop()
        if self._thread is None:
            return True
        self._thread.join(self.settings.drain_timeout_s + 15 if timeout is None else timeout)
        finished = not self._thread.is_alive()
        if not finished:
            log.error("kafka bridge did not stop in time; uncommitted records will be re-read")
        return finished

    # --- the bridge thread ----------------------------------------------------------------------

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("kafka bridge crashed")
            self.failure = "the Kafka bridge crashed; see the log"
            if self._on_failure is not None and not self._stopping.is_set():
                self._on_failure(self.failure)
        finally:
            self._consuming.clear()

    async def _main(self) -> None:
        clients = await connect(self.settings, self._stopping)
        if clients is None:
            return
        consumer, producer = clients
        delivery = DeliveryLoop(
            self.settings, consumer, producer, self._translate_job,
            new_producer=lambda: new_producer(self.settings),
        )
        consumer.subscribe(
            topics=list(self.settings.input_topics), listener=_RebalanceListener(delivery, consumer)
        )
        with self._lock:
            self._delivery = delivery
        if self._stopping.is_set():
            delivery.request_stop()
        self._consuming.set()
        try:
            await delivery.run()
        finally:
            self._consuming.clear()
            await _close_predictor_transport(self._pipeline)
        failure: IngestionFailed | None = delivery.failure
        if failure is not None:
            self.failure = str(failure)
            if self._on_failure is not None:
                self._on_failure(self.failure)

    async def _translate_job(
        self, job: TranslationJob, headers: Mapping[str, str]
    ) -> list[TextTranslation]:
        if self.settings.output_scores:
            scored = dataclasses.replace(job, options=SCORES)
            return await self._pipeline.translate_results(scored, headers)
        return [TextTranslation(t) for t in await self._pipeline.translate_job(job, headers)]


async def _close_predictor_transport(pipeline: Any) -> None:
    client = getattr(pipeline, "client", pipeline)
    close = getattr(client, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception as exc:  # closing an idle connection pool is best effort
            log.debug("closing the predictor transport failed: %r", exc)
