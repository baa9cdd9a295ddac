"""The rest of the Kafka fault matrix, end to end: the real broker, the real KServe predictor and
the real transformer process, with one fault injected into each test (and a sequence of them into
the volume test). Every test accounts for every input: its coordinates appear in the output or the
DLQ topic, translations are exact, and the DLQ holds only what is named.

Faults are real: the predictor's own overload (a bounded queue flooded by competing clients), a
TCP latency proxy in front of the real predictor, SIGTERM/SIGKILL, a broker that does not
auto-create topics, a topic with a small `max.message.bytes`, a broker restart.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaAdminClient
from kafka.admin import NewTopic

from tests.conftest import DEMO_EXAMPLES
from tests.kafka.accounting import (
    assert_nothing_lost,
    assert_per_key_order,
    assert_translations_correct,
    collect,
    coordinates,
    duplicates_keep_their_identity,
    expected_coordinates,
    good_records,
    stop_and_account,
)
from tests.kafka.latency_proxy import LatencyProxy
from tests.kafka.overload import flood
from tests.kafka.services import (
    Predictor,
    PredictorFactory,
    Topics,
    TransformerFactory,
    new_topics,
    running_broker,
    topic_names,
)
from tests.support.kafka import (
    KafkaBroker,
    StreamingProducer,
    header,
    wait_until,
)
from tests.support.metrics import metric_value

pytestmark = pytest.mark.kafka

DEADLINE = 180.0
# The bounded predictor queue the overload tests flood: twice the bridge's default in-flight
# records, so the bridge alone never overloads it (even with a killed bridge's requests queued).
QUEUE_LIMIT = "128"


class StrictBroker(KafkaBroker):
    """A broker that never auto-creates topics: a missing topic stays missing (also across
    restarts)."""

    def start(self, timeout: float = 90.0) -> KafkaBroker:
        previous = os.environ.get("KAFKA_EXTRA_PROPERTIES")
        os.environ["KAFKA_EXTRA_PROPERTIES"] = "auto.create.topics.enable=false"
        try:
            return super().start(timeout)
        finally:
            if previous is None:
                del os.environ["KAFKA_EXTRA_PROPERTIES"]
            else:
                os.environ["KAFKA_EXTRA_PROPERTIES"] = previous


@pytest.fixture(scope="module")
def strict_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    yield from running_broker(StrictBroker(tmp_path_factory.mktemp("strict-kafka")))


def outputs(broker: KafkaBroker, topic: str, at_least: int, timeout: float = 90) -> list[Any]:
    records = broker.read_all(topic, until=lambda got: len(got) >= at_least, timeout=timeout)
    assert len(records) >= at_least, f"only {len(records)} of {at_least} outputs in {timeout}s"
    return records


def membership_changes(log: str) -> list[str]:
    """The bridge's rebalance log lines that moved partitions ("assigned x-0,x-1", "revoked x-0",
    "lost x-1"), leaving out the empty ones of a first join."""
    changes = []
    for line in log.splitlines():
        _, found, rest = line.partition("kafka partitions ")
        if not found or rest.startswith("none") or rest.strip() == "assigned none":
            continue
        if rest.startswith("assigned "):
            changes.append(rest.strip())
        else:  # "<partitions> revoked, committing ..." / "<partitions> lost, committing ..."
            partitions, _, what = rest.partition(" ")
            changes.append(f"{what.split(',')[0]} {partitions}")
    return changes


def log_after(text: str, marker: int, needle: str) -> bool:
    return needle in text[marker:]


# --- 1. 503 bursts --------------------------------------------------------------------------


def test_predictor_overload_bursts_are_retried_never_dead_lettered(
    kafka_broker: KafkaBroker, topics: Topics, new_predictor: PredictorFactory,
    kafka_transformer: TransformerFactory,
) -> None:
    predictor = new_predictor("--max_queue_sentences", QUEUE_LIMIT).start()
    transformer = kafka_transformer(predictor.host)
    stream = StreamingProducer(
        kafka_broker, topics.input, good_records("burst", 1500), duration=6, ticks_per_s=10
    ).start()
    bursts = []
    for threshold in (200, 700):  # two bursts, each while the stream is running
        outputs(kafka_broker, topics.output, threshold)
        bursts.append(flood(predictor.host, seconds=2.0))
    retried = metric_value(
        transformer.metrics(), "argos_kafka_retries_total", error_class="predictor_overloaded"
    )
    assert stream.join() == 1500
    inputs = expected_coordinates(kafka_broker, topics.input)

    outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, DEADLINE)

    for burst in bursts:
        assert burst.other == [], burst.other[:5]
        assert burst.accepted > 0 and burst.refused > 0, f"not a real overload: {burst}"
    assert retried > 0, "the bridge met the predictor's 503s and retried them"
    print(f"overload bursts: {bursts}; bridge retries after 503: {retried:.0f}")
    assert_nothing_lost(outcome, inputs)
    assert outcome.dead == [], "503 is transient: never a dead letter"
    assert outcome.output_ids() == {f"burst-{n}" for n in range(1500)}
    assert_translations_correct(outcome.outputs)
    assert_per_key_order(outcome.outputs)


# --- 2. a predictor slower than max_poll_interval_ms ----------------------------------------

SLOW_S = 4.0
MAX_POLL_INTERVAL_MS = 2500


def test_predictor_slower_than_max_poll_interval_keeps_the_member_in_the_group(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    """Translations take longer than max_poll_interval_ms, yet the member stays in the group:
    the bridge keeps polling while records are in flight (the partitions are paused at max
    in-flight), so kafka-python never sees a poll timeout. Hence: one assignment, no revocation,
    no duplicates at all (stronger than "bounded")."""
    proxy = LatencyProxy("127.0.0.1", shared_predictor.http_port, latency_s=SLOW_S).start()
    try:
        kafka_broker.produce(topics.input, good_records("slow", 300))
        started = time.monotonic()
        transformer = kafka_transformer(
            proxy.host,
            "--kafka_max_poll_interval_ms", str(MAX_POLL_INTERVAL_MS),
            "--kafka_max_in_flight", "100",
        )
        outputs(kafka_broker, topics.output, 150)
        slow_phase = time.monotonic() - started
        proxy.latency_s = 0.0  # the rest at full speed: the test needs no more slow rounds
        inputs = expected_coordinates(kafka_broker, topics.input)

        outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, DEADLINE)
    finally:
        proxy.stop()

    assert proxy.delayed_chunks >= 2, "the proxy delayed the predictor's responses"
    assert slow_phase > 2 * SLOW_S > 2 * MAX_POLL_INTERVAL_MS / 1000
    assert_nothing_lost(outcome, inputs)
    assert outcome.dead == []
    assert outcome.output_ids() == {f"slow-{n}" for n in range(300)}
    assert_translations_correct(outcome.outputs)
    assert duplicates_keep_their_identity(outcome.outputs) == 0
    assert len(outcome.outputs) == 300, "no record was translated twice"
    changes = membership_changes(transformer.server.log())
    assert changes == [f"assigned {','.join(f'{topics.input}-{p}' for p in range(3))}"], changes
    latency_sum = metric_value(transformer.metrics(), "argos_kafka_record_latency_seconds_sum")
    assert latency_sum / 300 > 1.0, "records really waited for the slow predictor"


# --- 3. a consumer leaves ---------------------------------------------------------------------


def test_consumer_leaves_mid_stream_and_the_other_takes_over(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    leaving = kafka_transformer(shared_predictor.host)
    staying = kafka_transformer(shared_predictor.grpc_host, protocol="grpc-v2")
    # 100 records/s until well after the member has left (at most 3000, 30 s).
    stream = StreamingProducer(
        kafka_broker, topics.input, good_records("leave", 3000), duration=30
    ).start()
    assert wait_until(lambda: all(
        metric_value(member.metrics(), "argos_kafka_records_consumed_total") > 0
        for member in (leaving, staying)
    ), 60), "both members consume before one leaves"
    marker = len(staying.server.log())
    leaving.server.signal(signal.SIGTERM)
    assert leaving.server.process.wait(60) == 0
    assert "kafka drained finished=True" in leaving.server.log()
    every_partition = ",".join(f"{topics.input}-{p}" for p in range(3))
    assert wait_until(
        lambda: log_after(
            staying.server.log(), marker, f"kafka partitions assigned {every_partition}"
        ), 60,
    ), "the staying member took over every partition:\n" + staying.server.log()[-3000:]
    consumed_at_takeover = metric_value(staying.metrics(), "argos_kafka_records_consumed_total")
    time.sleep(2)

    outcome = stop_and_account(
        kafka_broker, topics.input, topics.output, topics.dlq, stream, "leave", 3000, DEADLINE
    )
    duplicates_keep_their_identity(outcome.outputs)
    assert (
        metric_value(staying.metrics(), "argos_kafka_records_consumed_total")
        > consumed_at_takeover
    ), "the staying member consumed the stream after the takeover"


# --- 4. the DLQ topic is unavailable ----------------------------------------------------------


def test_dead_letter_topic_missing_blocks_the_commit_until_it_exists(
    strict_broker: KafkaBroker, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    names = topic_names()
    strict_broker.create_topics(names.input, names.output, partitions=3)  # no DLQ topic
    good = good_records("dlqwait", 120)
    poison = (b"poison", b'{"text": "The cat')
    strict_broker.produce(names.input, [*good[:60], poison, *good[60:]])
    (position,) = [
        (r.partition, r.offset) for r in strict_broker.read_all(
            names.input, until=lambda got: len(got) >= 121, timeout=30)
        if r.key == b"poison"
    ]
    poison_partition, poison_offset = position

    transformer = kafka_transformer(shared_predictor.host, broker=strict_broker, names=names)
    assert wait_until(
        lambda: f"kafka write to {names.dlq} failed" in transformer.server.log(), 60
    ), "the dead-letter write fails while the topic is missing"
    outputs(strict_broker, names.output, 60)
    time.sleep(2)  # a few commit intervals
    committed = strict_broker.committed(names.group, names.input)
    assert (committed.get(poison_partition) or 0) <= poison_offset, (
        f"committed past the undelivered dead letter: {committed}, poison at {position}"
    )
    assert names.dlq not in _topic_names(strict_broker), "the DLQ topic was not auto-created"

    strict_broker.create_topics(names.dlq, partitions=3)
    inputs = expected_coordinates(strict_broker, names.input)

    outcome = collect(strict_broker, names.output, names.dlq, inputs, DEADLINE)

    assert_nothing_lost(outcome, inputs)
    assert {coordinates(r) for r in outcome.dead} == {position}, "only the poison is dead"
    assert all(r.value == poison[1] and r.key == b"poison" for r in outcome.dead)
    assert header(outcome.dead[0], "argos.error.class") == "invalid_input"
    assert outcome.output_ids() == {f"dlqwait-{n}" for n in range(120)}
    assert_translations_correct(outcome.outputs)
    ends = strict_broker.end_offsets(names.input)
    assert wait_until(lambda: strict_broker.committed(names.group, names.input) == ends, 30), (
        "once the dead letter is written the stream proceeds and commits to the end"
    )
    assert metric_value(transformer.metrics(), "argos_kafka_partition_rewinds_total") >= 1


def _topic_names(broker: KafkaBroker) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


# --- 5. a translation too large for the output topic ------------------------------------------

OUTPUT_MAX_MESSAGE_BYTES = 2048


def test_output_too_large_for_the_topic_goes_to_the_dlq_and_neighbours_are_unaffected(
    kafka_broker: KafkaBroker, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    names = topic_names()
    kafka_broker.create_topics(names.input, names.dlq, partitions=3)
    _create_topic(kafka_broker, names.output, {"max.message.bytes": str(OUTPUT_MAX_MESSAGE_BYTES)})
    long_text = " ".join(english for english, _ in _demo_sentences(100))
    big = [
        (f"big-{n}".encode(), json.dumps({"text": long_text, "id": f"big-{n}"}).encode())
        for n in range(3)
    ]
    good = good_records("fits", 150)
    kafka_broker.produce(names.input, [*good[:50], big[0], *good[50:100], big[1], big[2],
                                       *good[100:]])
    kafka_transformer(shared_predictor.host, names=names)
    inputs = expected_coordinates(kafka_broker, names.input)

    outcome = collect(kafka_broker, names.output, names.dlq, inputs, DEADLINE)

    assert_nothing_lost(outcome, inputs)
    assert outcome.output_ids() == {f"fits-{n}" for n in range(150)}, "neighbours unaffected"
    assert_translations_correct(outcome.outputs)
    assert_per_key_order(outcome.outputs)
    assert sorted(r.key for r in outcome.dead) == [b"big-0", b"big-1", b"big-2"]
    for record in outcome.dead:
        assert record.value == dict(big)[record.key], "the input record is preserved"
        assert header(record, "argos.error.class") == "output_too_large"
        assert header(record, "argos.error.status") == "413"
        assert "MessageSizeTooLarge" in header(record, "argos.error.exception")
        message = header(record, "argos.error.message")
        assert "larger than topic" in message and names.output in message, message
        assert header(record, "argos.id") == record.key.decode()


def _create_topic(broker: KafkaBroker, name: str, config: dict[str, str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        admin.create_topics([NewTopic(name, 3, 1, topic_configs=config)])
    finally:
        admin.close()
    assert wait_until(lambda: name in _topic_names(broker), 30)


def _demo_sentences(count: int) -> list[tuple[str, str]]:
    return [DEMO_EXAMPLES[n % len(DEMO_EXAMPLES)] for n in range(count)]


# --- 6. volume through a sequence of faults ---------------------------------------------------

VOLUME = 13_000


def test_volume_through_a_sequence_of_faults(
    strict_broker: KafkaBroker, new_predictor: PredictorFactory,
    kafka_transformer: TransformerFactory,
) -> None:
    """13k records streamed (~370/s) while, one after the other: the predictor is SIGKILLed and
    restarted, flooded into 503s, the transformer is SIGKILLed and replaced, and the broker
    restarts. Every record is accounted for, exactly translated, per-key order kept; the
    duplicates the transformer kill causes are the same records again."""
    names = new_topics(strict_broker)
    predictor = new_predictor("--max_queue_sentences", QUEUE_LIMIT).start()
    first = kafka_transformer(predictor.host, broker=strict_broker, names=names)
    stream = StreamingProducer(
        strict_broker, names.input, good_records("volume", VOLUME), duration=35, ticks_per_s=10
    ).start()
    started = time.monotonic()
    faults: list[str] = []

    def injected(fault: str) -> None:
        faults.append(f"{fault} at {time.monotonic() - started:.0f}s ({stream.sent} sent)")

    outputs(strict_broker, names.output, 1000)
    predictor.server.signal(signal.SIGKILL)
    predictor.server.process.wait(10)
    predictor.start()
    injected("predictor SIGKILL + restart")

    outputs(strict_broker, names.output, 3500)
    burst = flood(predictor.host, seconds=3.0)
    assert burst.refused > 0 and burst.other == [], burst
    assert metric_value(
        first.metrics(), "argos_kafka_retries_total", error_class="predictor_overloaded"
    ) > 0, "the bridge met the burst's 503s"
    injected("503 burst")

    outputs(strict_broker, names.output, 6000)
    first.server.signal(signal.SIGKILL)
    first.server.process.wait(10)
    kafka_transformer(predictor.host, broker=strict_broker, names=names)
    injected("transformer SIGKILL + replacement")

    outputs(strict_broker, names.output, 8500, timeout=120)
    strict_broker.restart(down_for=2)
    injected("broker restart")

    assert stream.join(timeout=180) == VOLUME
    inputs = expected_coordinates(strict_broker, names.input)
    assert len(inputs) == VOLUME

    outcome = collect(strict_broker, names.output, names.dlq, inputs, DEADLINE)

    assert_nothing_lost(outcome, inputs)
    assert outcome.dead == [], "none of these faults is the records' fault"
    assert outcome.output_ids() == {f"volume-{n}" for n in range(VOLUME)}
    assert_translations_correct(outcome.outputs)
    assert_per_key_order(outcome.outputs)
    repeats = duplicates_keep_their_identity(outcome.outputs)
    print(f"volume: {VOLUME} records in {time.monotonic() - started:.0f}s, {repeats} duplicates; "
          f"faults: {'; '.join(faults)}")
