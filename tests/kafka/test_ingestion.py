"""Kafka ingestion end to end: the real broker, the real KServe predictor and the real
transformer process (`python -m argos_transformer --kafka_...`), with faults injected into each.

Every test accounts for every input: its coordinates appear in the output or the DLQ topic.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.kafka.accounting import (
    KEYS,
    assert_nothing_lost,
    assert_per_key_order,
    assert_translations_correct,
    collect,
    coordinates,
    expected_coordinates,
    good_records,
    stop_and_account,
)
from tests.kafka.services import (
    Predictor,
    PredictorFactory,
    Topics,
    TransformerFactory,
    new_topics,
)
from tests.support.kafka import KafkaBroker, StreamingProducer, header, wait_until
from tests.support.metrics import metric_value
from tests.support.processes import python_command

pytestmark = pytest.mark.kafka

DEADLINE = 180.0


def outputs_at_least(broker: KafkaBroker, topic: str, count: int, timeout: float = 60) -> bool:
    records = broker.read_all(topic, until=lambda got: len(got) >= count, timeout=timeout)
    return len(records) >= count


def test_translates_every_record_keeping_per_key_order(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    records = good_records("happy", 600)
    kafka_broker.produce(topics.input, records[:300])  # a backlog, then a live stream
    transformer = kafka_transformer(shared_predictor.host)
    kafka_broker.produce(topics.input, records[300:])
    inputs = expected_coordinates(kafka_broker, topics.input)
    assert len(inputs) == 600

    outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, DEADLINE)

    assert_nothing_lost(outcome, inputs)
    assert outcome.dead == []
    assert outcome.output_ids() == {f"happy-{n}" for n in range(600)}
    assert_translations_correct(outcome.outputs)
    assert_per_key_order(outcome.outputs)
    for record in outcome.outputs:
        sequence = int(json.loads(record.value)["id"].rsplit("-", 1)[1])
        assert record.key == KEYS[sequence % len(KEYS)], "the output keeps the input's key"
        assert header(record, "argos.source.topic") == topics.input
    ends = kafka_broker.end_offsets(topics.input)
    assert wait_until(lambda: kafka_broker.committed(topics.group, topics.input) == ends, 30), (
        "offsets committed up to the end once everything is written"
    )
    metrics = transformer.metrics()
    assert metric_value(metrics, "argos_kafka_records_consumed_total") >= 600
    assert metric_value(metrics, "argos_kafka_records_produced_total", topic=topics.output) >= 600
    assert metric_value(metrics, "argos_kafka_records_in_flight") == 0
    assert "argos_kafka_record_latency_seconds_count" in metrics
    assert wait_until(transformer.lag_is_zero, 30), "the lag gauge reaches 0 once caught up"


def test_translation_slots_and_held_records_are_bounded_apart(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    """`max_in_flight` bounds the records being translated; `max_buffered` every record held
    until the broker acknowledges its output. A record waiting for its acknowledgement leaves
    its translation slot to the next record."""
    transformer = kafka_transformer(
        shared_predictor.host, "--kafka_max_in_flight", "4", "--kafka_max_buffered", "12"
    )
    records = good_records("bounded", 800)
    kafka_broker.produce(topics.input, records)
    inputs = expected_coordinates(kafka_broker, topics.input)
    translating, held = [], []
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        metrics = transformer.metrics()
        translating.append(metric_value(metrics, "argos_kafka_records_translating"))
        held.append(metric_value(metrics, "argos_kafka_records_in_flight"))
        if metric_value(metrics, "argos_kafka_records_produced_total", topic=topics.output) >= 800:
            break
        time.sleep(0.005)

    outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, DEADLINE)
    assert_nothing_lost(outcome, inputs)
    assert_translations_correct(outcome.outputs)
    assert_per_key_order(outcome.outputs)
    assert max(translating) <= 4
    assert max(held) <= 12
    assert max(held) > 4, "records waiting for the broker still held translation slots"


def test_poison_records_go_to_the_dlq_and_neighbours_are_unaffected(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    unknown_pair = json.dumps(
        {"text": "The cat sees a beautiful flower.", "source": "en", "target": "xx", "id": "p-pair"}
    ).encode()
    poison = {
        b"bad-json": (b'{"text": "The cat', 400, "invalid_input"),
        b"not-utf8": (b"\xff", 400, "invalid_input"),
        b"empty": (b"", 400, "invalid_input"),
        b"oversized": (b"x" * 5000, 413, "input_too_large"),
        b"unknown-pair": (unknown_pair, 400, "predictor_rejected"),
    }
    good = good_records("neighbour", 100)
    records: list[tuple] = []
    for index, (key, (value, _, _)) in enumerate(poison.items()):
        records.extend(good[index * 20 : index * 20 + 10])
        records.append((key, value, [("trace", f"poison-{index}".encode())]))
        records.extend(good[index * 20 + 10 : index * 20 + 20])
    kafka_broker.produce(topics.input, records)
    kafka_transformer(shared_predictor.host, "--max_record_bytes", "4096")
    inputs = expected_coordinates(kafka_broker, topics.input)

    outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, DEADLINE)

    assert_nothing_lost(outcome, inputs)
    assert outcome.output_ids() == {f"neighbour-{n}" for n in range(100)}
    assert_translations_correct(outcome.outputs)
    assert sorted(r.key for r in outcome.dead) == sorted(poison), "only the poison is dead"
    for record in outcome.dead:
        value, status, error_class = poison[record.key]
        assert record.value == value, "the original value is kept byte for byte"
        assert record.headers[0][0] == "trace", "the original headers come first, unchanged"
        assert header(record, "argos.error.class") == error_class
        assert header(record, "argos.error.status") == str(status)
        assert header(record, "argos.error.message")
        assert int(header(record, "argos.error.attempts")) >= 1
        assert header(record, "argos.error.time")
        assert header(record, "argos.source.topic") == topics.input
        assert coordinates(record) in inputs
    pair_error = next(r for r in outcome.dead if r.key == b"unknown-pair")
    assert "xx" in header(pair_error, "argos.error.message")
    assert header(pair_error, "argos.id") == "p-pair"


def test_predictor_down_at_start_then_up(
    kafka_broker: KafkaBroker, topics: Topics, new_predictor: PredictorFactory,
    kafka_transformer: TransformerFactory,
) -> None:
    predictor = new_predictor()  # its port is chosen, nothing listens yet
    kafka_broker.produce(topics.input, good_records("late", 200))
    transformer = kafka_transformer(predictor.host)
    assert wait_until(
        lambda: metric_value(transformer.metrics(), "argos_kafka_retries_total") > 0, 30
    ), "the transformer retries while the predictor is down"
    assert metric_value(transformer.metrics(), "argos_kafka_partitions_paused") > 0
    assert kafka_broker.read_all(topics.dlq, until=lambda got: bool(got), timeout=2) == []
    predictor.start()
    inputs = expected_coordinates(kafka_broker, topics.input)

    outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, DEADLINE)

    assert_nothing_lost(outcome, inputs)
    assert outcome.dead == [], "transient faults never reach the DLQ"
    assert outcome.output_ids() == {f"late-{n}" for n in range(200)}
    assert_translations_correct(outcome.outputs)


def test_predictor_killed_mid_stream_and_restarted(
    kafka_broker: KafkaBroker, topics: Topics, new_predictor: PredictorFactory,
    kafka_transformer: TransformerFactory,
) -> None:
    predictor = new_predictor().start()
    kafka_transformer(predictor.host, protocol="v2")
    stream = StreamingProducer(
        kafka_broker, topics.input, good_records("crash", 1200), duration=8
    ).start()
    assert outputs_at_least(kafka_broker, topics.output, 50)
    predictor.server.signal(signal.SIGKILL)
    predictor.server.process.wait(10)
    time.sleep(2)
    predictor.start()
    assert stream.join() == 1200
    inputs = expected_coordinates(kafka_broker, topics.input)

    outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, DEADLINE)

    assert_nothing_lost(outcome, inputs)
    assert outcome.dead == []
    assert outcome.output_ids() == {f"crash-{n}" for n in range(1200)}
    assert_translations_correct(outcome.outputs)
    assert_per_key_order(outcome.outputs)


def test_transformer_killed_mid_stream_and_restarted(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    first = kafka_transformer(shared_predictor.host)
    stream = StreamingProducer(
        kafka_broker, topics.input, good_records("sigkill", 1200), duration=8
    ).start()
    assert outputs_at_least(kafka_broker, topics.output, 100)
    first.server.signal(signal.SIGKILL)
    first.server.process.wait(10)
    kafka_transformer(shared_predictor.host)
    assert stream.join() == 1200
    inputs = expected_coordinates(kafka_broker, topics.input)

    outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, DEADLINE)

    assert_nothing_lost(outcome, inputs)
    assert outcome.dead == []
    assert outcome.output_ids() == {f"sigkill-{n}" for n in range(1200)}
    assert_translations_correct(outcome.outputs)
    assert_per_key_order(outcome.outputs)


def test_second_consumer_joins_mid_stream(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    first = kafka_transformer(shared_predictor.host)
    # 50 records/s until well after the second member has joined (at most 3000, 60 s).
    stream = StreamingProducer(
        kafka_broker, topics.input, good_records("join", 3000), duration=60
    ).start()
    assert outputs_at_least(kafka_broker, topics.output, 50)
    second = kafka_transformer(shared_predictor.grpc_host, protocol="grpc-v2")
    assert wait_until(lambda: "kafka partitions assigned " + topics.input in second.server.log(),
                      60), "the second member got partitions"
    time.sleep(3)

    stop_and_account(
        kafka_broker, topics.input, topics.output, topics.dlq, stream, "join", 3000, DEADLINE
    )
    for member in (first, second):
        consumed = metric_value(member.metrics(), "argos_kafka_records_consumed_total")
        assert consumed > 0, "both group members took a share of the partitions"


def test_sigterm_drains_commits_and_exits(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    first = kafka_transformer(shared_predictor.host)
    stream = StreamingProducer(
        kafka_broker, topics.input, good_records("drain", 1000), duration=6
    ).start()
    assert outputs_at_least(kafka_broker, topics.output, 100)
    first.server.signal(signal.SIGTERM)
    assert first.server.process.wait(60) == 0
    log = first.server.log()
    assert "kafka drained finished=True" in log, log[-3000:]
    # Everything below the committed offsets has its output: the commit never ran ahead.
    committed = kafka_broker.committed(topics.group, topics.input)
    assert any(committed.values()), "the drain committed what it finished"
    written = {coordinates(r) for r in kafka_broker.read_all(
        topics.output, until=lambda got: False, timeout=3)}
    for partition, offset in committed.items():
        below = {(partition, o) for o in range(offset or 0)}
        assert below <= written, f"partition {partition} committed past unwritten records"

    kafka_transformer(shared_predictor.host)
    assert stream.join() == 1000
    inputs = expected_coordinates(kafka_broker, topics.input)
    outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, DEADLINE)
    assert_nothing_lost(outcome, inputs)
    assert outcome.dead == []
    assert outcome.output_ids() == {f"drain-{n}" for n in range(1000)}


def test_cli_sends_texts_and_prints_translations(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory, tmp_path,
) -> None:
    kafka_transformer(shared_predictor.host)
    lines = tmp_path / "lines.txt"
    lines.write_text("My city is big.\n\nThese happy women sing.\n", encoding="utf-8")
    result = subprocess.run(
        python_command(
            "transformer", "-m", "argos_transformer.kafka.cli", "send",
            "--bootstrap", kafka_broker.bootstrap, "--topic", topics.input,
            "--wait-output", topics.output, "--dlq-topic", topics.dlq, "--timeout", "90",
            "--file", str(lines), "The small dog sleeps.",
        ),
        capture_output=True, text=True, timeout=150,
    )
    assert result.returncode == 0, result.stderr
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert sorted(a["translation"] for a in answers) == sorted(
        ["El perro pequeño duerme.", "Mi ciudad es grande.", "Estas mujeres felices cantan."]
    )
    assert "sent 3 records" in result.stderr


def test_retry_budget_exhausted_stops_ingestion_without_dead_letters(
    kafka_broker: KafkaBroker, topics: Topics, new_predictor: PredictorFactory,
    kafka_transformer: TransformerFactory,
) -> None:
    never_started = new_predictor()
    kafka_broker.produce(topics.input, good_records("budget", 30))
    transformer = kafka_transformer(
        never_started.host, "--kafka_retry_budget_s", "3", "--kafka_drain_timeout_s", "2"
    )
    transformer.server.process.wait(90)  # it terminates itself so that it gets restarted
    log = transformer.server.log()
    assert "kafka ingestion stopping" in log and "retry budget" in log, log[-3000:]
    assert kafka_broker.read_all(topics.dlq, until=lambda got: bool(got), timeout=2) == []
    committed = kafka_broker.committed(topics.group, topics.input)
    assert not any(committed.values()), f"nothing translated, nothing committed: {committed}"


def test_broker_restart_mid_stream(
    tmp_path: Path, shared_predictor: Predictor, kafka_transformer: TransformerFactory,
) -> None:
    broker = KafkaBroker(tmp_path / "own-broker").start()
    try:
        names = new_topics(broker)
        kafka_transformer(shared_predictor.host, broker=broker, names=names)
        stream = StreamingProducer(
            broker, names.input, good_records("restart", 800), duration=8
        ).start()
        assert outputs_at_least(broker, names.output, 50)
        broker.restart(down_for=2)
        assert stream.join(timeout=180) == 800
        inputs = expected_coordinates(broker, names.input)

        outcome = collect(broker, names.output, names.dlq, inputs, DEADLINE)

        assert_nothing_lost(outcome, inputs)
        assert outcome.dead == []
        assert outcome.output_ids() == {f"restart-{n}" for n in range(800)}
        assert_per_key_order(outcome.outputs)
    finally:
        broker.stop()
