"""Kafka ingestion inside the transformer process: one background thread with its own event loop.

`KafkaBridge(settings, client).start()` connects (retrying while the brokers are unreachable),
joins the consumer group and runs the delivery engine; `stop()` drains it: stop polling, finish
in-flight records (bounded), commit, leave the group, flush the producer.

`client` is the transformer's one predictor client: a `TranslationPipeline` (so records get the
same normalisation and splitting as HTTP requests) or a bare `PredictorClient`, which is wrapped
in a pipeline. The client keeps one transport per event loop, so the bridge's loop has its own.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable, Mapping
from typing import Any

from kafka import AsyncConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from argos_transformer.codecs.job import TranslationJob
from argos_transformer.kafka.consumer_loop import DeliveryEngine, IngestionFailed
from argos_transformer.kafka.retry import Backoff
from argos_transformer.kafka.settings import KafkaSettings
from argos_transformer.pipeline import TranslationPipeline

log = logging.getLogger("argos_transformer.kafka")

CONNECT_BACKOFF = Backoff(base_s=0.5, cap_s=10.0)


TERMINATE_GRACE_S = 60.0


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
    """Runs on kafka-python's IO thread; the engine's work runs on the bridge loop."""

    def __init__(self, engine: DeliveryEngine, consumer: KafkaConsumer) -> None:
        self._engine = engine
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        offsets = self._engine.partitions_revoked(revoked)
        if offsets:
            try:
                await self._consumer.commit_async(offsets)
            except Exception as exc:  # the next owner re-reads from the previous commit
                log.warning("kafka commit on revoke failed: %r", exc)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._engine.partitions_assigned(assigned)

    async def on_partitions_lost(self, lost: set[TopicPartition]) -> None:
        self._engine.partitions_revoked(lost, lost=True)


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
        self._engine: DeliveryEngine | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the Kafka bridge was already started")
        self._thread = threading.Thread(target=self._thread_main, name="kafka-bridge", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Drain and stop; True if it finished within `timeout` (default: drain timeout + 15s)."""
        self._stopping.set()
        with self._lock:
            engine = self._engine
        if engine is not None:
            engine.request_stop()
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
            if self._on_failure is not None and not self._stopping.is_set():
                self._on_failure("the Kafka bridge crashed; see the log")

    async def _main(self) -> None:
        clients = await self._connect()
        if clients is None:
            return
        consumer, producer = clients
        engine = DeliveryEngine(self.settings, consumer, producer, self._translate_job)
        listener = _RebalanceListener(engine, consumer)

        def subscribe() -> None:
            consumer.subscribe(topics=list(self.settings.input_topics), listener=listener)

        subscribe()
        engine.resubscribe = subscribe
        with self._lock:
            self._engine = engine
        if self._stopping.is_set():
            engine.request_stop()
        try:
            await engine.run()
        finally:
            await _close_predictor_transport(self._pipeline)
        failure: IngestionFailed | None = engine.failure
        if failure is not None and self._on_failure is not None:
            self._on_failure(str(failure))

    async def _translate_job(self, job: TranslationJob, headers: Mapping[str, str]) -> list[str]:
        return await self._pipeline.translate_job(job, headers)

    async def _connect(self) -> tuple[KafkaConsumer, KafkaProducer] | None:
        """Create the clients, retrying while the brokers are unreachable (until stopped)."""
        loop = asyncio.get_running_loop()
        servers = ",".join(self.settings.bootstrap_servers)
        attempt = 0
        while not self._stopping.is_set():
            attempt += 1
            try:
                consumer = await loop.run_in_executor(
                    None, lambda: KafkaConsumer(**self.settings.consumer_config())
                )
                try:
                    producer = await loop.run_in_executor(
                        None, lambda: KafkaProducer(**self.settings.producer_config())
                    )
                except BaseException:
                    consumer.close(autocommit=False)
                    raise
                log.info("kafka connected bootstrap=%s attempt=%d", servers, attempt)
                return consumer, producer
            except KafkaError as exc:
                delay = CONNECT_BACKOFF.delay(attempt)
                log.warning(
                    "kafka brokers %s unreachable (attempt %d, retrying in %.1fs): %r",
                    servers, attempt, delay, exc,
                )
                await asyncio.to_thread(self._stopping.wait, delay)
        return None


async def _close_predictor_transport(pipeline: Any) -> None:
    client = getattr(pipeline, "client", pipeline)
    close = getattr(client, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception as exc:  # closing an idle connection pool is best effort
            log.debug("closing the predictor transport failed: %r", exc)
