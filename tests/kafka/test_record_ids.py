"""The id a Kafka record is logged and forwarded under, and the dead letter that carries it."""

from __future__ import annotations

from dataclasses import dataclass

from argos_transformer.kafka.faults import Fault
from argos_transformer.kafka.outbound import dead_letter_record, header
from argos_transformer.request_ids import kafka_record_id

FAULT = Fault(False, "invalid_input", "not JSON", 400, "InvalidInput")


@dataclass
class Record:
    headers: list[tuple[str, bytes]]
    topic: str = "in"
    partition: int = 2
    offset: int = 17
    key: bytes | None = b"k"
    value: bytes | None = b"{"


def test_a_record_goes_by_its_producers_id_else_its_coordinates() -> None:
    assert kafka_record_id("in", 2, 17, None) == "in/2/17"
    assert kafka_record_id("in", 2, 17, [("trace", b"t"), ("x-request-id", b"")]) == "in/2/17"
    assert kafka_record_id("in", 2, 17, [("X-Request-Id", b"caller-7")]) == "caller-7"


def test_a_dead_letter_carries_the_id_once() -> None:
    plain = dead_letter_record("dlq", Record([("trace", b"t")]), FAULT, 1, request_id="in/2/17")
    assert header(plain.headers, "x-request-id") == "in/2/17"
    assert plain.headers[0] == ("trace", b"t"), "the original headers come first, unchanged"
    own = Record([("x-request-id", b"caller-7")])
    named = dead_letter_record("dlq", own, FAULT, 1, request_id="caller-7")
    assert [v for k, v in named.headers if k.lower() == "x-request-id"] == [b"caller-7"]
