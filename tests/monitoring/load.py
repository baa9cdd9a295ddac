"""A short, bounded mix of traffic for every server the dashboard watches: good and bad HTTP
requests (V1 and V2, each server's own API) and Kafka records, some of them undeliverable."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from kafka import KafkaProducer

from tests.conftest import DEMO_EXAMPLES


def v1(text: object) -> dict:
    return {"instances": [text]}


def v2(text: object, datatype: str = "BYTES") -> dict:
    return {"inputs": [{"name": "text", "datatype": datatype, "shape": [1], "data": [text]}]}


@dataclass
class Endpoint:
    """One URL to POST to: a good body for a sentence each round and, every `bad_every`
    rounds, a bad one."""

    name: str
    url: str
    good: Callable[[str], object]
    bad: object
    bad_every: int = 3


def kafka_good(number: int) -> tuple[bytes, bytes]:
    text = DEMO_EXAMPLES[number % len(DEMO_EXAMPLES)][0]
    return f"key-{number % 4}".encode(), json.dumps({"text": text, "id": f"m-{number}"}).encode()


# Records the transformer cannot translate and writes to the dead-letter topic (400 classes).
KAFKA_BAD = (b'{"text": "The cat', b"", b'{"text": 7}')


@dataclass
class Traffic:
    """What was sent and how the servers answered."""

    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    kafka_good: int = 0
    kafka_bad: int = 0

    @property
    def kafka_records(self) -> int:
        return self.kafka_good + self.kafka_bad


class Load:
    """One round: every endpoint once, plus a few Kafka records. Rounds are driven by the caller,
    which stops once Prometheus has seen enough of them."""

    def __init__(self, endpoints: list[Endpoint], producer: KafkaProducer, topic: str) -> None:
        self.endpoints = endpoints
        self.producer = producer
        self.topic = topic
        self.client = httpx.Client(timeout=30)
        self.traffic = Traffic()
        self.rounds = 0

    def round(self) -> None:
        sentence = DEMO_EXAMPLES[self.rounds % len(DEMO_EXAMPLES)][0]
        for endpoint in self.endpoints:
            bad = self.rounds % endpoint.bad_every == endpoint.bad_every - 1
            body = endpoint.bad if bad else endpoint.good(sentence)
            status = self.client.post(endpoint.url, json=body).status_code
            self.traffic.statuses[(endpoint.name, status)] += 1
        records = [kafka_good(self.traffic.kafka_good + n) for n in range(4)]
        if self.rounds % 2 == 1:
            records.append((b"bad", KAFKA_BAD[self.rounds % len(KAFKA_BAD)]))
        futures = [self.producer.send(self.topic, key=key, value=value) for key, value in records]
        self.producer.flush(30)
        for future in futures:
            future.get(timeout=30)
        self.traffic.kafka_good += 4
        self.traffic.kafka_bad += len(records) - 4
        self.rounds += 1

    def close(self) -> None:
        self.client.close()
