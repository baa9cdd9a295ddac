"""A real single-node Kafka broker for tests, started with the same tooling as `make kafka-up`
(kafka/scripts/broker.sh run, jars from `make kafka-jars`), plus small client helpers."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError

from harness.processes import REPO_ROOT, ServerProcess, free_port

BROKER_SCRIPT = REPO_ROOT / "kafka" / "scripts" / "broker.sh"
KAFKA_LIB_DIR = Path(os.environ.get("KAFKA_LIB_DIR", REPO_ROOT / ".kafka" / "lib"))


class KafkaUnavailable(RuntimeError):
    """The broker cannot be run here (no jars or no java)."""


def broker_missing_reason() -> str | None:
    if not any(KAFKA_LIB_DIR.glob("kafka_2.13-*.jar")):
        return f"no Kafka broker jars in {KAFKA_LIB_DIR}: run `make kafka-jars`"
    if not any((Path(p) / "java").exists() for p in os.environ.get("PATH", "").split(os.pathsep)):
        return "java is not on PATH"
    return None


@dataclass
class KafkaBroker:
    """One broker process on free loopback ports; data survives restarts of the same object."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    controller_port: int = field(default_factory=free_port)
    server: ServerProcess | None = None
    restarts: int = 0

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 90.0) -> KafkaBroker:
        reason = broker_missing_reason()
        if reason:
            raise KafkaUnavailable(reason)
        self.server = ServerProcess(
            [str(BROKER_SCRIPT), "run"],
            self.data_dir / f"broker-{self.restarts}.log",
            env={
                "KAFKA_PORT": str(self.port),
                "KAFKA_CONTROLLER_PORT": str(self.controller_port),
                "KAFKA_DATA_DIR": str(self.data_dir),
                "KAFKA_LIB_DIR": str(KAFKA_LIB_DIR),
            },
        ).start()
        self.server.wait_until(lambda: "Kafka Server started" in self.server.log(), timeout)
        self.server.wait_until(self._answers, timeout)
        return self

    def _answers(self) -> bool:
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000)
        try:
            admin.list_topics()
            return True
        finally:
            admin.close()

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop(timeout=30)

    def kill(self) -> None:
        if self.server is not None and self.server.alive():
            self.server.signal(signal.SIGKILL)
            self.server.process.wait(10)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop (gracefully), stay down `down_for` seconds, start again on the same ports."""
        self.stop()
        time.sleep(down_for)
        self.restarts += 1
        self.start()

    # --- client helpers ----------------------------------------------------------------------

    def create_topics(self, *names: str, partitions: int = 3) -> None:
        admin = KafkaAdminClient(bootstrap_servers=self.bootstrap)
        try:
            admin.create_topics([NewTopic(name, partitions, 1) for name in names])
        finally:
            admin.close()
        deadline = time.monotonic() + 30
        probe = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            while time.monotonic() < deadline:
                if all(len(probe.partitions_for_topic(n) or ()) == partitions for n in names):
                    return
                time.sleep(0.2)
        finally:
            probe.close()
        raise TimeoutError(f"topics {names} not visible after 30s")

    def producer(self, **config: Any) -> KafkaProducer:
        return KafkaProducer(bootstrap_servers=self.bootstrap, linger_ms=5, **config)

    def produce(self, topic: str, records: Iterable[tuple], **config: Any) -> int:
        """Send (key, value[, headers]) records and wait for every acknowledgement; returns
        the count."""
        producer = self.producer(**config)
        try:
            futures = [
                producer.send(
                    topic,
                    key=record[0],
                    value=record[1],
                    headers=list(record[2]) if len(record) > 2 else None,
                )
                for record in records
            ]
            producer.flush(60)
            for future in futures:
                future.get(timeout=30)
            return len(futures)
        finally:
            producer.close(10)

    def read_all(
        self,
        topic: str | Sequence[str],
        until: Callable[[list[Any]], bool],
        timeout: float = 120.0,
        read_committed: bool = False,
    ) -> list[Any]:
        """Every record of `topic` (or topics) from the beginning until `until(records)` holds
        (or timeout); with `read_committed`, only records of committed transactions.

        Uses manual assignment (no group), so it never disturbs the consumer group under test.
        """
        topics = [topic] if isinstance(topic, str) else list(topic)
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False,
            isolation_level="read_committed" if read_committed else "read_uncommitted",
        )
        try:
            tps = [
                TopicPartition(name, p)
                for name in topics
                for p in _wait_partitions(consumer, name, timeout=30)
            ]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            records: list[Any] = []
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                for batch in consumer.poll(timeout_ms=200, max_records=2000).values():
                    records.extend(batch)
                if until(records):
                    return records
            return records
        finally:
            consumer.close(autocommit=False)

    def committed(self, group: str, topic: str) -> dict[int, int | None]:
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap, group_id=group, enable_auto_commit=False
        )
        try:
            partitions = _wait_partitions(consumer, topic, timeout=30)
            return {p: consumer.committed(TopicPartition(topic, p)) for p in partitions}
        finally:
            consumer.close(autocommit=False)

    def end_offsets(self, topic: str) -> dict[int, int]:
        consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
        try:
            partitions = _wait_partitions(consumer, topic, timeout=30)
            ends = consumer.end_offsets([TopicPartition(topic, p) for p in partitions])
            return {tp.partition: offset for tp, offset in ends.items()}
        finally:
            consumer.close(autocommit=False)


class StreamingProducer:
    """Sends records evenly over `duration` seconds from a background thread, so faults injected
    meanwhile land mid-stream.

    By default one record per tick, each acknowledged before the next (about 100 records/s at
    most here); with `ticks_per_s`, that many chunks a second, each sent at once and then
    acknowledged, for thousands of records/s. kafka-python's producer defaults (idempotent,
    acks=all, retried for 120 s, which covers a broker restart) keep the input in send order.
    """

    def __init__(
        self, broker: KafkaBroker, topic: str, records: Sequence[tuple], duration: float,
        ticks_per_s: float | None = None,
    ) -> None:
        self._broker = broker
        self._topic = topic
        self._records = list(records)
        ticks = max(1, int(duration * ticks_per_s) if ticks_per_s else len(self._records))
        self._chunk = max(1, -(-len(self._records) // ticks))
        self._tick_s = duration / ticks
        self._thread = threading.Thread(target=self._run, name="streaming-producer", daemon=True)
        self._stop = threading.Event()
        self.sent = 0
        self.error: BaseException | None = None

    def start(self) -> StreamingProducer:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            producer = self._broker.producer()
            try:
                started = time.monotonic()
                for tick, first in enumerate(range(0, len(self._records), self._chunk)):
                    delay = started + tick * self._tick_s - time.monotonic()
                    if self._stop.wait(max(0.0, delay)):
                        break
                    chunk = self._records[first : first + self._chunk]
                    futures = [
                        producer.send(self._topic, key=record[0], value=record[1])
                        for record in chunk
                    ]
                    producer.flush(120)
                    for future in futures:
                        future.get(timeout=60)
                    self.sent += len(chunk)
            finally:
                producer.close(10)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def stop(self) -> int:
        """Stop sending (the records sent so far stay sent); returns how many were sent."""
        self._stop.set()
        return self.join()

    def join(self, timeout: float = 180.0) -> int:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"producer still sending after {timeout}s ({self.sent} sent)")
        if self.error is not None:
            raise self.error
        return self.sent


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.25) -> bool:
    """Poll `check` until true or `timeout`; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _wait_partitions(consumer: KafkaConsumer, topic: str, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        partitions = consumer.partitions_for_topic(topic)
        if partitions:
            return sorted(partitions)
        time.sleep(0.2)
    raise TimeoutError(f"topic {topic} has no partitions after {timeout}s")


def wait_for_broker(bootstrap: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000).close()
            return
        except KafkaError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def unique(prefix: str) -> str:
    """A topic or group name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def header(record: Any, name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode() if value is not None else None
    return None


def json_value(record: Any) -> dict[str, Any]:
    return json.loads(record.value)


def distinct_ids(records: Sequence[Any]) -> set[str]:
    """Ids of output or DLQ records (the `argos.id` header, which both carry)."""
    return {header(record, "argos.id") for record in records} - {None}
