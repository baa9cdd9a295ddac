"""The processes the Kafka tests run: predictor and transformer, and a test's topic names."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.kafka import KafkaBroker, unique
from tests.support.predictor import kserve_predictor_command
from tests.support.processes import ServerProcess

MODEL = "translator"


@dataclass
class Topics:
    input: str
    output: str
    dlq: str
    group: str


def new_topics(broker: KafkaBroker) -> Topics:
    """Fresh input/output/DLQ topics (3 partitions each) and a fresh consumer group."""
    names = Topics(unique("in"), unique("out"), "", unique("group"))
    names.dlq = f"{names.output}.dlq"
    broker.create_topics(names.input, names.output, names.dlq, partitions=3)
    return names


@dataclass
class Predictor:
    """A KServe predictor on fixed ports, so it can be killed and started again in place."""

    log_dir: Path
    http_port: int
    grpc_port: int
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
            self.http_port, self.grpc_port, "--max_wait_ms", "5", model_name=MODEL
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


PredictorFactory = Callable[[], Predictor]


@dataclass
class Transformer:
    server: ServerProcess
    http_port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def metrics(self) -> str:
        return httpx.get(f"{self.base_url}/metrics", timeout=10).text


TransformerFactory = Callable[..., Transformer]
