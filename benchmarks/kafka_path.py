"""Kafka throughput: messages/s from an input topic to an output topic, on a real broker.

A probe record is sent until its translation comes back (the consumer has joined and the
path is warm); then `messages` records are produced in one burst, and the rate is
messages / (last output record's timestamp - burst start). Each record holds one sentence.
With `read_committed` (the exactly-once comparison), outputs count when a read_committed reader
receives them, so a transaction's commit is part of the time.

- transformer: the transformer's own Kafka ingestion (`--kafka_*` flags), calling the
  predictor as it does for HTTP; records `{"id", "text"}` in, `{"id", "translation", ...}` out.
- MLServer: its built-in Kafka server (`MLSERVER_KAFKA_ENABLED`), V2 inference requests as
  record values with the `mlserver-model` header, responses on the output topic.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kafka import KafkaConsumer, TopicPartition

from benchmarks.workload import Workload
from harness.kafka import KafkaBroker, unique

log = logging.getLogger("benchmarks.kafka")

PROBE_TIMEOUT_S = 90.0


@dataclass
class KafkaRun:
    messages: int
    received: int = 0
    seconds: float = 0.0
    capped: bool = False
    outputs: dict[int, str] = field(default_factory=dict)

    @property
    def messages_per_s(self) -> float:
        return self.received / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> dict:
        return {
            "messages": self.messages,
            "received": self.received,
            "seconds": round(self.seconds, 3),
            "capped": self.capped,
            "messages_per_s": round(self.messages_per_s, 2),
        }


@dataclass(frozen=True)
class Topics:
    input: str
    output: str
    dlq: str
    group: str

    @classmethod
    def fresh(cls, prefix: str) -> Topics:
        return cls(
            unique(f"{prefix}-in"), unique(f"{prefix}-out"), unique(f"{prefix}-dlq"),
            unique(f"{prefix}-group"),
        )


def start_broker(work_dir: Path) -> KafkaBroker:
    broker = KafkaBroker(work_dir / f"kafka-{time.monotonic_ns()}")
    broker.data_dir.mkdir(parents=True, exist_ok=True)
    return broker.start()


def transformer_flags(broker: KafkaBroker, topics: Topics, max_in_flight: int) -> list[str]:
    return [
        "--kafka_bootstrap_servers", broker.bootstrap,
        "--kafka_input_topics", topics.input,
        "--kafka_output_topic", topics.output,
        "--kafka_dlq_topic", topics.dlq,
        "--kafka_group_id", topics.group,
        "--kafka_max_in_flight", str(max_in_flight),
        "--kafka_session_timeout_ms", "6000",
        "--kafka_heartbeat_interval_ms", "1000",
    ]


def mlserver_kafka_env(broker: KafkaBroker, topics: Topics) -> dict[str, str]:
    return {
        "MLSERVER_KAFKA_ENABLED": "true",
        "MLSERVER_KAFKA_SERVERS": broker.bootstrap,
        "MLSERVER_KAFKA_TOPIC_INPUT": topics.input,
        "MLSERVER_KAFKA_TOPIC_OUTPUT": topics.output,
    }


# Record codecs: (id, text) -> (key, value, headers); output record -> (id, translation).
Encode = Callable[[str, str], tuple[bytes, bytes, list[tuple[str, bytes]]]]
Decode = Callable[[object], tuple[str, str] | None]


def encode_transformer(record_id: str, text: str) -> tuple[bytes, bytes, list]:
    return record_id.encode(), json.dumps({"id": record_id, "text": text}).encode(), []


def decode_transformer(record: object) -> tuple[str, str] | None:
    value = json.loads(record.value)
    return str(value["id"]), str(value["translation"])


def encode_mlserver(record_id: str, text: str) -> tuple[bytes, bytes, list]:
    request = {
        "id": record_id,
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [text]}],
    }
    return record_id.encode(), json.dumps(request).encode(), [("mlserver-model", b"translator")]


def decode_mlserver(record: object) -> tuple[str, str] | None:
    value = json.loads(record.value)
    for output in value.get("outputs", []):
        if output.get("name") == "translation":
            return str(value["id"]), str(output["data"][0])
    return None


class OutputReader:
    """Reads the output topic from the beginning (manual assignment, no group); with
    `read_committed`, committed transactions only, timed by when they arrive here."""

    def __init__(
        self, broker: KafkaBroker, topic: str, decode: Decode, read_committed: bool = False
    ) -> None:
        self.decode = decode
        self.read_committed = read_committed
        self.consumer = KafkaConsumer(
            bootstrap_servers=broker.bootstrap, enable_auto_commit=False,
            isolation_level="read_committed" if read_committed else "read_uncommitted",
        )
        deadline = time.monotonic() + 30
        while not self.consumer.partitions_for_topic(topic):
            if time.monotonic() > deadline:
                raise TimeoutError(f"topic {topic} has no partitions")
            time.sleep(0.1)
        partitions = [TopicPartition(topic, p) for p in self.consumer.partitions_for_topic(topic)]
        self.consumer.assign(partitions)
        self.consumer.seek_to_beginning(*partitions)
        self.seen: dict[str, tuple[str, float]] = {}

    def poll(self) -> None:
        for batch in self.consumer.poll(timeout_ms=100, max_records=5000).values():
            arrived = time.time()
            for record in batch:
                decoded = self.decode(record)
                if decoded is not None:
                    at = arrived if self.read_committed else record.timestamp / 1000
                    self.seen[decoded[0]] = (decoded[1], at)

    def wait_for(self, ids: set[str], deadline: float) -> bool:
        while time.time() < deadline:
            self.poll()
            if ids <= self.seen.keys():
                return True
        return False

    def close(self) -> None:
        self.consumer.close(autocommit=False)


def measure(
    broker: KafkaBroker,
    topics: Topics,
    workload: Workload,
    messages: int,
    time_cap_s: float,
    encode: Encode,
    decode: Decode,
    read_committed: bool = False,
) -> KafkaRun:
    reader = OutputReader(broker, topics.output, decode, read_committed)
    producer = broker.producer()
    try:
        _probe(producer, reader, topics.input, encode)
        run = KafkaRun(messages)
        ids = {f"m-{index}": index for index in range(messages)}
        started = time.time()
        for record_id, index in ids.items():
            key, value, headers = encode(record_id, workload.text(index))
            producer.send(topics.input, key=key, value=value, headers=headers)
        producer.flush(60)
        run.capped = not reader.wait_for(set(ids), started + time_cap_s)
        arrived = {rid: reader.seen[rid] for rid in ids if rid in reader.seen}
        run.received = len(arrived)
        if arrived:
            run.seconds = max(ts for _, ts in arrived.values()) - started
        run.outputs = {ids[rid]: translation for rid, (translation, _) in arrived.items()}
        return run
    finally:
        producer.close(10)
        reader.close()


def wait_all_assigned(logs: list[Callable[[], str]], topic: str, timeout_s: float) -> None:
    """Until every consumer's latest rebalance log line gives it partitions of `topic`."""
    deadline = time.time() + timeout_s
    marker = "kafka partitions "
    while time.time() < deadline:
        latest = [log_text().rsplit(marker, 1)[-1] for log_text in logs]
        if all(line.startswith(f"assigned {topic}") for line in latest):
            return
        time.sleep(0.2)
    raise TimeoutError(f"not every consumer has partitions of {topic} after {timeout_s}s")


def _probe(producer, reader: OutputReader, topic: str, encode: Encode) -> None:
    deadline = time.time() + PROBE_TIMEOUT_S
    attempt = 0
    while time.time() < deadline:
        record_id = f"probe-{attempt}"
        key, value, headers = encode(record_id, "The small dog sleeps.")
        producer.send(topic, key=key, value=value, headers=headers)
        producer.flush(30)
        if reader.wait_for({record_id}, min(deadline, time.time() + 5)):
            return
        attempt += 1
    raise TimeoutError(f"no answer on the output topic within {PROBE_TIMEOUT_S}s")
