"""The processes the Kafka tests run: predictor and transformer, a test's topic names, and a
plain consumer group member."""

from __future__ import annotations

import contextlib
import random
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from kafka import KafkaConsumer

from argos_transformer.kafka.compat import apply_joins_completed_between_polls
from tests.support.availability import unavailable
from tests.support.kafka import KafkaBroker, broker_missing_reason, unique
from tests.support.metrics import metric_value
from tests.support.predictor import kserve_predictor_command
from tests.support.processes import ServerProcess, free_port, python_command

MODEL = "translator"


def group_member(
    broker: KafkaBroker, group: str, rejoin_work_around: bool = True, **config: object
) -> KafkaConsumer:
    """A plain consumer in `group` (not subscribed yet) that notices a rebalance within a
    second; with the bridge's work-around for the rejoin stall (test_rejoin.py) unless told."""
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, group_id=group, enable_auto_commit=False,
        session_timeout_ms=6000, heartbeat_interval_ms=500, **config,
    )
    if rejoin_work_around:
        apply_joins_completed_between_polls(consumer)
    return consumer


def reserved_port(*taken: int) -> int:
    """A free loopback port below the kernel's ephemeral range, for a server that starts later
    than the clients pointed at it (predictor down at start, killed and restarted).

    A port from `free_port()` lies in the ephemeral range: while nothing listens on it, any
    outgoing connection on the machine may get it as its local port, including the waiting
    client's own retries (a TCP self-connect), and the server then cannot bind it. `taken`:
    ports already handed out for the same server.
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    for _ in range(200):
        port = random.randrange(max(1024, low - 12_000), low)
        if port in taken:
            continue
        with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


@dataclass
class Topics:
    input: str
    output: str
    dlq: str
    group: str


def topic_names() -> Topics:
    """Fresh input/output/DLQ topic names (not created) and a fresh consumer group."""
    output = unique("out")
    return Topics(unique("in"), output, f"{output}.dlq", unique("group"))


def new_topics(broker: KafkaBroker) -> Topics:
    """Fresh input/output/DLQ topics (3 partitions each) and a fresh consumer group."""
    names = topic_names()
    broker.create_topics(names.input, names.output, names.dlq, partitions=3)
    return names


@dataclass
class Predictor:
    """A KServe predictor on fixed ports, so it can be killed and started again in place."""

    log_dir: Path
    http_port: int
    grpc_port: int
    args: tuple[str, ...] = ()  # extra predictor flags, e.g. ("--max_queue_sentences", "64")
    server: ServerProcess | None = None
    starts: int = 0

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_host(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def start(self, timeout: float = 120.0) -> Predictor:
        self.starts += 1
        command = kserve_predictor_command(
            self.http_port, self.grpc_port, "--max_wait_ms", "5", *self.args, model_name=MODEL
        )
        self.server = ServerProcess(
            command, self.log_dir / f"predictor-{self.http_port}-{self.starts}.log"
        ).start()
        try:
            self.server.wait_http_ok(f"http://{self.host}/v2/models/{MODEL}/ready", timeout=timeout)
        except Exception:
            self.server.stop()
            raise
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()


PredictorFactory = Callable[..., Predictor]


def kafka_transformer_command(
    predictor_host: str, broker: KafkaBroker, names: Topics, http_port: int, *extra: str,
    protocol: str = "v1",
) -> list[str]:
    """`python -m argos_transformer` consuming `names.input` in `names.group`, with the short
    timeouts and backoffs the tests use; `extra` flags go last (they win)."""
    return python_command(
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


def running_broker(broker: KafkaBroker) -> Iterator[KafkaBroker]:
    """Start `broker` for a fixture's lifetime (unavailable without java or the broker jars)."""
    reason = broker_missing_reason()
    if reason:
        unavailable(f"Kafka broker unavailable: {reason}")
    broker.start()
    yield broker
    broker.stop()


@dataclass
class Transformer:
    server: ServerProcess
    http_port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def metrics(self) -> str:
        return httpx.get(f"{self.base_url}/metrics", timeout=10).text

    def lag_is_zero(self) -> bool:
        """The consumer-lag gauge is reported and reads 0 (it is refreshed once a second)."""
        metrics = self.metrics()
        return "argos_kafka_consumer_lag{" in metrics and (
            metric_value(metrics, "argos_kafka_consumer_lag") == 0
        )


TransformerFactory = Callable[..., Transformer]
