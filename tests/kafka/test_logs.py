"""Kafka ingestion's log lines (`--log_format json`): a dead-lettered record costs one WARNING
line naming why, never an ERROR; a record's lines carry its id (the producer's `x-request-id`
header, else `<topic>/<partition>/<offset>`), which the predictor's log and the dead letter
carry too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.kafka.services import Predictor, Topics, TransformerFactory
from tests.support.json_logs import json_lines, lines_with_id
from tests.support.kafka import KafkaBroker, header
from tests.support.processes import free_port

pytestmark = pytest.mark.kafka

FLOOD = 1000
DEADLINE = 300.0
DEAD_LETTERING = "kafka dead-lettering"


@pytest.fixture(scope="module")
def json_predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    predictor = Predictor(
        tmp_path_factory.mktemp("json-predictor"), free_port(), free_port(),
        ("--log_format", "json"),
    )
    predictor.start()
    yield predictor
    predictor.stop()


def unknown_pair(text: str) -> bytes:
    """A record the transformer takes and the predictor refuses (400: no such pair)."""
    return json.dumps({"text": text, "source": "en", "target": "zz"}).encode()


def poison(index: int) -> bytes:
    """Bad records of every kind, each distinct: the transformer's refusals and the predictor's."""
    kinds = [
        f'{{"text": "The cat {index}'.encode(),  # truncated JSON
        b"\xff" + str(index).encode(),  # not UTF-8
        json.dumps({"text": index}).encode(),  # not a text
        json.dumps({"text": "x" * 5000, "id": str(index)}).encode(),  # over --max_record_bytes
        unknown_pair(f"The cat {index} sleeps."),
    ]
    return kinds[index % len(kinds)]


def coordinates(record: Any) -> str:
    """The id of an input record without x-request-id, from its dead letter's headers."""
    return "/".join(
        header(record, f"argos.source.{name}") or "" for name in ("topic", "partition", "offset")
    )


def dead_letters(broker: KafkaBroker, topic: str, count: int) -> list:
    records = broker.read_all(topic, until=lambda got: len(got) >= count, timeout=DEADLINE)
    assert len(records) >= count, f"{len(records)} of {count} dead letters"
    return records


def test_a_flood_of_poison_records_logs_one_warning_each_and_no_error(
    kafka_broker: KafkaBroker, topics: Topics, json_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    transformer = kafka_transformer(
        json_predictor.host, "--kafka_only", "--log_format", "json", "--max_record_bytes", "4096"
    )
    # One record first: the lines of starting and joining the group are then behind us.
    kafka_broker.produce(topics.input, [(None, b"\xffwarm-up")])
    dead_letters(kafka_broker, topics.dlq, 1)
    transformer.server.wait_until(lambda: DEAD_LETTERING in transformer.server.log())
    start = len(transformer.server.log())
    kafka_broker.produce(topics.input, [(None, poison(n)) for n in range(FLOOD)])
    dead = dead_letters(kafka_broker, topics.dlq, FLOOD + 1)

    def lines() -> list[dict]:
        return json_lines(transformer.server.log()[start:])

    transformer.server.wait_until(
        lambda: sum(DEAD_LETTERING in d["message"] for d in lines()) >= FLOOD
    )
    documents = lines()
    errors = [d for d in documents if d["level"] in ("ERROR", "CRITICAL")]
    assert errors == [], errors[:3]
    assert len(documents) <= FLOOD * 1.05, f"{len(documents)} log lines for {FLOOD} records"
    assert "exception" not in json.dumps(documents)
    dead_lettering = [d for d in documents if DEAD_LETTERING in d["message"]]
    assert {d["level"] for d in dead_lettering} == {"WARNING"}
    named = [d["request_id"] for d in dead_lettering]
    assert len(named) == len(set(named)) == FLOOD, "one line per record"
    carried = {header(record, "x-request-id") for record in dead}
    assert set(named) <= carried, "each dead letter carries the id its line names"
    assert all(header(record, "x-request-id") == coordinates(record) for record in dead)


def test_one_record_id_is_followed_through_the_transformer_the_predictor_and_the_dlq(
    kafka_broker: KafkaBroker, topics: Topics, json_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    """A record the predictor refuses is logged by both under one id: the producer's
    x-request-id header, or the record's topic/partition/offset."""
    kafka_broker.produce(topics.input, [
        (b"own", unknown_pair("The cat sleeps."), [("x-request-id", b"kafka-caller-7")]),
        (b"none", unknown_pair("My city is big.")),
    ])
    transformer = kafka_transformer(json_predictor.host, "--log_format", "json")
    dead = {record.key: record for record in dead_letters(kafka_broker, topics.dlq, 2)}
    own, none = dead[b"own"], dead[b"none"]
    assert [value for name, value in own.headers if name == "x-request-id"] == [b"kafka-caller-7"]
    assert header(none, "x-request-id") == coordinates(none)
    for request_id in ("kafka-caller-7", coordinates(none)):
        for server in (transformer.server, json_predictor.server):
            assert server is not None
            server.wait_until(lambda s=server, rid=request_id: bool(lines_with_id(s.log(), rid)))
        transformer_lines = lines_with_id(transformer.server.log(), request_id)
        assert [d["level"] for d in transformer_lines] == ["WARNING"], transformer_lines
        assert DEAD_LETTERING in transformer_lines[0]["message"]
        predictor_lines = lines_with_id(json_predictor.server.log(), request_id)
        assert [d["level"] for d in predictor_lines] == ["INFO"], predictor_lines
        assert "zz" in predictor_lines[0]["message"]
