"""Exactly-once ingestion end to end (`--kafka_processing_guarantee exactly_once`): the real
broker, the real KServe predictor and real transformer processes. Outputs are read as a
downstream consumer would, with isolation.level=read_committed: each input must have exactly one
output or dead letter there, whatever happened to the transformer in between.
"""

from __future__ import annotations

import json
import signal

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from tests.kafka.accounting import (
    assert_translated,
    collect,
    expected_coordinates,
    good_records,
)
from tests.kafka.services import Predictor, Topics, TransformerFactory, topic_names
from tests.support.kafka import KafkaBroker, StreamingProducer, header, wait_until
from tests.support.metrics import metric_value

pytestmark = pytest.mark.kafka

DEADLINE = 180.0
EXACTLY_ONCE = ("--kafka_processing_guarantee", "exactly_once")


def test_each_record_is_translated_exactly_once(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    records = good_records("eos", 600)
    kafka_broker.produce(topics.input, records[:300])  # a backlog, then a live stream
    transformer = kafka_transformer(shared_predictor.host, *EXACTLY_ONCE)
    kafka_broker.produce(topics.input, records[300:])
    inputs = expected_coordinates(kafka_broker, topics.input)

    outcome = collect(
        kafka_broker, topics.output, topics.dlq, inputs, DEADLINE, read_committed=True
    )

    assert_translated(outcome, inputs, "eos", 600, exactly_once=True)
    ends = kafka_broker.end_offsets(topics.input)
    assert wait_until(lambda: kafka_broker.committed(topics.group, topics.input) == ends, 30), (
        "the transactions committed the group's offsets up to the end"
    )
    assert wait_until(transformer.lag_is_zero, 30)
    metrics = transformer.metrics()
    assert metric_value(metrics, "argos_kafka_transactions_total", outcome="committed") > 0
    assert metric_value(metrics, "argos_kafka_transactions_total", outcome="aborted") == 0
    assert "transactional producer ready" in transformer.server.log()


def test_a_burst_is_committed_once_written_not_an_interval_later(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    """With a commit interval far longer than the test, a read_committed reader still sees a
    burst's outputs: the transaction is closed as soon as everything taken is written."""
    transformer = kafka_transformer(
        shared_predictor.host, *EXACTLY_ONCE, "--kafka_commit_interval_s", "3600"
    )
    kafka_broker.produce(topics.input, good_records("eosidle", 40))
    inputs = expected_coordinates(kafka_broker, topics.input)

    outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, 60, read_committed=True)

    assert_translated(outcome, inputs, "eosidle", 40, exactly_once=True)
    assert metric_value(
        transformer.metrics(), "argos_kafka_transactions_total", outcome="committed"
    ) >= 1


def test_a_killed_member_leaves_no_duplicates_behind(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    """SIGKILL mid-stream: the killed member's open transaction is aborted (the broker's
    transaction timeout) and its records are translated again by the replacement, yet a
    read_committed reader sees each input once."""
    first = kafka_transformer(
        shared_predictor.host, *EXACTLY_ONCE, "--kafka_transaction_timeout_ms", "5000"
    )
    stream = StreamingProducer(
        kafka_broker, topics.input, good_records("eoskill", 1200), duration=8
    ).start()
    assert wait_until(lambda: metric_value(
        first.metrics(), "argos_kafka_transactions_total", outcome="committed") >= 3, 90)
    first.server.signal(signal.SIGKILL)
    first.server.process.wait(10)
    kafka_transformer(shared_predictor.host, *EXACTLY_ONCE)
    assert stream.join() == 1200
    inputs = expected_coordinates(kafka_broker, topics.input)

    outcome = collect(
        kafka_broker, topics.output, topics.dlq, inputs, DEADLINE, read_committed=True
    )

    assert_translated(outcome, inputs, "eoskill", 1200, exactly_once=True)


def test_poison_and_oversized_outputs_are_dead_lettered_in_the_transaction(
    kafka_broker: KafkaBroker, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    """A translation larger than the output topic takes goes to the dead-letter topic inside
    the transaction, and poison records directly. When the topic's limit shrinks after the
    transformer read it, the broker refuses the write: that aborts the transaction, never the
    producer, and the record is dead-lettered when read again. Neighbours: exactly once."""
    names = topic_names()
    kafka_broker.create_topics(names.input, names.output, names.dlq, partitions=3)
    transformer = kafka_transformer(shared_predictor.host, *EXACTLY_ONCE, names=names)
    good = good_records("eosdlq", 150)
    kafka_broker.produce(names.input, good[:50])
    assert wait_until(lambda: metric_value(
        transformer.metrics(), "argos_kafka_records_produced_total") >= 50, 90)
    _set_max_message_bytes(kafka_broker, names.output, 2048)  # after the transformer read it
    long_text = " ".join(["The cat sees a beautiful flower."] * 100)
    big = (b"big", json.dumps({"text": long_text, "id": "big"}).encode())
    poison = (b"poison", b'{"text": "The cat')
    kafka_broker.produce(names.input, [*good[50:100], big, poison, *good[100:]])
    inputs = expected_coordinates(kafka_broker, names.input)

    outcome = collect(
        kafka_broker, names.output, names.dlq, inputs, DEADLINE, read_committed=True
    )

    assert_translated(outcome, inputs, "eosdlq", 150, exactly_once=True)
    errors = {r.key: header(r, "argos.error.class") for r in outcome.dead}
    assert errors == {b"big": "output_too_large", b"poison": "invalid_input"}
    metrics = transformer.metrics()
    assert metric_value(metrics, "argos_kafka_transactions_total", outcome="aborted") >= 1, (
        "the broker refused the big translation"
    )
    assert metric_value(metrics, "argos_kafka_transactions_total", outcome="fatal") == 0


def _set_max_message_bytes(broker: KafkaBroker, topic: str, limit: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.alter_configs([ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(limit)}
        )])
    finally:
        admin.close()
