"""The Kafka clients of the delivery loop and the threads they are used from.

kafka-python's clients are not made for an asyncio loop: the consumer is only touched from one
worker thread (`poll`, `pause`, `seek`, `commit`), the producer's `send`, `flush` and transaction
calls from another (they may block on metadata or a commit). The delivery loop hands work to
those threads with `ClientThreads`; broker acknowledgements come back on kafka-python's IO
threads and are handed to the loop with `call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.errors import KafkaError
from kafka.structs import TopicPartition

from argos_transformer.kafka import metrics
from argos_transformer.kafka.compat import apply_joins_completed_between_polls, close_producer
from argos_transformer.kafka.retry import Backoff
from argos_transformer.kafka.settings import KafkaSettings

log = logging.getLogger("argos_transformer.kafka")

CONNECT_BACKOFF = Backoff(base_s=0.5, cap_s=10.0)


class Consumer(Protocol):
    """The kafka-python KafkaConsumer methods the delivery loop uses."""

    def assignment(self) -> set[TopicPartition]: ...
    def paused(self) -> set[TopicPartition]: ...
    def pause(self, *partitions: TopicPartition) -> None: ...
    def resume(self, *partitions: TopicPartition) -> None: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    def poll(self, timeout_ms: int = 0, max_records: int | None = None) -> dict: ...
    def highwater(self, partition: TopicPartition) -> int | None: ...
    def commit(self, offsets: dict | None = None, timeout_ms: int | None = None) -> None: ...
    def commit_async(self, offsets: dict | None = None, callback: Any = None) -> Any: ...
    def group_metadata(self) -> Any: ...
    def close(self, autocommit: bool = True, timeout_ms: int | None = None) -> None: ...


class Producer(Protocol):
    """The kafka-python KafkaProducer methods the delivery loop uses."""

    def send(self, topic: str, value: Any = None, key: Any = None, headers: Any = None) -> Any: ...
    def flush(self, timeout: float | None = None) -> None: ...
    def close(self, timeout: float | None = None) -> None: ...
    def begin_transaction(self) -> None: ...
    def send_offsets_to_transaction(self, offsets: dict, group_metadata: Any) -> None: ...
    def commit_transaction(self) -> None: ...
    def abort_transaction(self) -> None: ...


class ClientThreads:
    """The consumer's thread and the send thread, as awaitables for the delivery loop."""

    def __init__(self) -> None:
        self._consumer = concurrent.futures.ThreadPoolExecutor(1, "kafka-consumer")
        self._send = concurrent.futures.ThreadPoolExecutor(1, "kafka-send")

    async def on_consumer(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._consumer, function, *args)

    async def on_sender(self, function: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._send, function, *args)

    def shutdown(self) -> None:
        self._consumer.shutdown(wait=True)
        self._send.shutdown(wait=True)


def new_consumer(settings: KafkaSettings) -> KafkaConsumer:
    consumer = KafkaConsumer(**settings.consumer_config())
    apply_joins_completed_between_polls(consumer, metrics.JOINS_APPLIED.inc)
    return consumer


def new_producer(settings: KafkaSettings) -> KafkaProducer:
    """A producer; in exactly-once mode a transactional one, initialised (which fences any
    earlier producer with the same transactional id and aborts its open transaction)."""
    producer = KafkaProducer(**settings.producer_config())
    if settings.exactly_once:
        try:
            producer.init_transactions()
        except BaseException:
            close_producer(producer, timeout_s=0)
            raise
        log.info("kafka transactional producer ready transactional_id=%s",
                 settings.transactional_id)
    return producer


def new_admin(settings: KafkaSettings) -> KafkaAdminClient:
    return KafkaAdminClient(**settings.connection_config())


async def connect(
    settings: KafkaSettings, stopping: threading.Event
) -> tuple[KafkaConsumer, KafkaProducer] | None:
    """Create the clients, retrying while the brokers are unreachable (None once stopping)."""
    loop = asyncio.get_running_loop()
    servers = ",".join(settings.bootstrap_servers)
    attempt = 0
    while not stopping.is_set():
        attempt += 1
        try:
            consumer = await loop.run_in_executor(None, new_consumer, settings)
            try:
                producer = await loop.run_in_executor(None, new_producer, settings)
            except BaseException:
                consumer.close(autocommit=False)
                raise
            log.info(
                "kafka connected bootstrap=%s attempt=%d guarantee=%s",
                servers, attempt, settings.processing_guarantee,
            )
            return consumer, producer
        except KafkaError as exc:
            delay = CONNECT_BACKOFF.delay(attempt)
            log.warning(
                "kafka brokers %s unreachable (attempt %d, retrying in %.1fs): %r",
                servers, attempt, delay, exc,
            )
            await asyncio.to_thread(stopping.wait, delay)
    return None
