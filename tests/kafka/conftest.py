"""Real processes for the Kafka tests: one broker per session (kafka/scripts/broker.sh on random
loopback ports, data in a temp dir), the KServe predictor, and transformers with Kafka flags.

Without broker jars or java the broker tests are skipped locally, but under CI=true they fail:
`make test` fetches the jars first (TEST_DEPS), so a missing broker there is a real breakage.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kafka.services import (
    Predictor,
    PredictorFactory,
    Topics,
    Transformer,
    TransformerFactory,
    kafka_transformer_command,
    new_topics,
    reserved_port,
    running_broker,
)
from tests.support.kafka import KafkaBroker
from tests.support.processes import ServerProcess, free_port


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    yield from running_broker(KafkaBroker(tmp_path_factory.mktemp("kafka")))


@pytest.fixture
def topics(kafka_broker: KafkaBroker) -> Topics:
    return new_topics(kafka_broker)


@pytest.fixture
def new_predictor(tmp_path: Path) -> Iterator[PredictorFactory]:
    """`new_predictor(*flags)`: a not-yet-started predictor on its own ports, started with the
    extra predictor `flags` (stopped at test end)."""
    made: list[Predictor] = []

    def make(*flags: str) -> Predictor:
        http_port = reserved_port()
        predictor = Predictor(tmp_path, http_port, reserved_port(http_port), flags)
        made.append(predictor)
        return predictor

    yield make
    for predictor in made:
        predictor.stop()


@pytest.fixture(scope="session")
def shared_predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Predictor]:
    """One predictor for the tests that do not stop it."""
    predictor = Predictor(tmp_path_factory.mktemp("predictor"), free_port(), free_port())
    predictor.start()
    yield predictor
    predictor.stop()


@pytest.fixture
def kafka_transformer(
    kafka_broker: KafkaBroker, topics: Topics, tmp_path: Path
) -> Iterator[TransformerFactory]:
    """`kafka_transformer(predictor_host, *extra_args)`: a transformer process consuming the
    test's topics in the test's group (stopped at test end)."""
    started: list[Transformer] = []

    def start(
        predictor_host: str, *extra: str, protocol: str = "v1",
        broker: KafkaBroker | None = None, names: Topics | None = None,
    ) -> Transformer:
        broker = broker or kafka_broker
        names = names or topics
        http_port = free_port()
        command = kafka_transformer_command(
            predictor_host, broker, names, http_port, *extra, protocol=protocol
        )
        server = ServerProcess(
            command, tmp_path / f"transformer-{len(started)}-{http_port}.log"
        ).start()
        transformer = Transformer(server, http_port)
        started.append(transformer)
        server.wait_http_ok(f"{transformer.base_url}/v2/health/live", timeout=90)
        return transformer

    yield start
    for transformer in started:
        transformer.server.stop()
