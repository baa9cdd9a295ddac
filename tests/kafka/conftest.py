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
    MODEL,
    Predictor,
    PredictorFactory,
    Topics,
    Transformer,
    TransformerFactory,
    new_topics,
    reserved_port,
    running_broker,
)
from tests.support.kafka import KafkaBroker
from tests.support.processes import ServerProcess, free_port, python_command


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
        command = python_command(
            "transformer", "-m", "argos_transformer",
            "--model_name", MODEL,
            "--predictor_host", predictor_host,
            "--predictor_protocol", protocol,
            "--predictor_request_timeout_seconds", "10",
            "--http_port", str(http_port),
            "--grpc_port", str(free_port()),
            "--kafka_bootstrap_servers", broker.bootstrap,
            "--kafka_input_topics", names.input,
            "--kafka_output_topic", names.output,
            "--kafka_dlq_topic", names.dlq,
            "--kafka_group_id", names.group,
            "--kafka_retry_backoff_s", "0.1",
            "--kafka_retry_backoff_max_s", "1",
            "--kafka_session_timeout_ms", "6000",
            "--kafka_heartbeat_interval_ms", "1000",
            "--kafka_commit_interval_s", "0.5",
            *extra,
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
