"""The test broker and Kafka client helpers live in `harness.kafka` (shared with the
benchmarks)."""

from harness.kafka import (
    BROKER_SCRIPT,
    KAFKA_LIB_DIR,
    KafkaBroker,
    KafkaUnavailable,
    StreamingProducer,
    broker_missing_reason,
    distinct_ids,
    header,
    json_value,
    unique,
    wait_for_broker,
    wait_until,
)

__all__ = [
    "BROKER_SCRIPT",
    "KAFKA_LIB_DIR",
    "KafkaBroker",
    "KafkaUnavailable",
    "StreamingProducer",
    "broker_missing_reason",
    "distinct_ids",
    "header",
    "json_value",
    "unique",
    "wait_for_broker",
    "wait_until",
]
