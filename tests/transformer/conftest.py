"""Real processes for the transformer tests: the KServe predictor (started once per session)
and transformers in front of it (one per configuration, started on first use), on free
loopback ports. Stand-in upstreams (tests/transformer/upstreams.py) cover what the real
predictor cannot show: header recording, 5xx, silence."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.predictor import RunningPredictor, start_kserve_predictor
from tests.support.processes import RunningServer, ServerProcess, free_port, python_command
from tests.transformer.upstreams import RecordingUpstream, echo_upper

MODEL = "translator"


@dataclass
class RunningTransformer(RunningServer):
    @property
    def predict_url(self) -> str:
        return f"{self.base_url}/v1/models/{MODEL}:predict"

    def predict(self, body: object, **kwargs: object) -> httpx.Response:
        return httpx.post(self.predict_url, json=body, timeout=30, **kwargs)


def start_transformer(
    log_dir: Path, predictor_host: str, protocol: str, *args: str, wait_ready: bool = True
) -> RunningTransformer:
    """Start `python -m argos_transformer` from the transformer image environment; wait until
    it serves (liveness), and, with `wait_ready`, until it reports the predictor ready."""
    http_port, grpc_port = free_port(), free_port()
    command = python_command(
        "transformer",
        "-m",
        "argos_transformer",
        "--model_name",
        MODEL,
        "--predictor_host",
        predictor_host,
        "--predictor_protocol",
        protocol,
        "--http_port",
        str(http_port),
        "--grpc_port",
        str(grpc_port),
        "--bind_host",
        "127.0.0.1",
        *args,
    )
    server = ServerProcess(command, log_dir / f"transformer-{http_port}.log").start()
    running = RunningTransformer(server, http_port, grpc_port)
    path = f"/v2/models/{MODEL}/ready" if wait_ready else "/v2/health/live"
    try:
        server.wait_http_ok(running.base_url + path, timeout=90)
    except Exception:
        server.stop()
        raise
    return running


# The predictor refuses texts over 200 characters, so that the transformer's splitting of long
# texts (segments of at most 40 characters here) shows with the demo sentences.
PREDICTOR_MAX_TEXT_CHARS = 200
REAL_LIMITS = ("--max_segment_chars", "40")


@pytest.fixture(scope="session")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPredictor]:
    running = start_kserve_predictor(
        tmp_path_factory.mktemp("predictor"),
        "--max_wait_ms",
        "5",
        "--max_text_chars",
        str(PREDICTOR_MAX_TEXT_CHARS),
        "--enable_access_log",
        "true",  # test_overhead reads which connections the transformer's calls came on
    )
    yield running
    running.stop()


TransformerFactory = Callable[..., RunningTransformer]
UpstreamTransformer = Callable[[str], RunningTransformer]


@pytest.fixture(scope="session")
def transformers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TransformerFactory]:
    """`transformers(host, protocol, *args)`: one process per distinct configuration."""
    log_dir = tmp_path_factory.mktemp("transformers")
    started: dict[tuple, RunningTransformer] = {}

    def get(predictor_host: str, protocol: str, *args: str, wait_ready: bool = True):
        key = (predictor_host, protocol, args, wait_ready)
        if key not in started or not started[key].server.alive():
            started[key] = start_transformer(
                log_dir, predictor_host, protocol, *args, wait_ready=wait_ready
            )
        return started[key]

    yield get
    for running in started.values():
        running.server.stop()


def predictor_host(predictor: RunningPredictor, protocol: str) -> str:
    """Where a transformer speaking `protocol` reaches the predictor."""
    if protocol == "grpc-v2":
        return predictor.grpc_target
    return f"127.0.0.1:{predictor.http_port}"


@pytest.fixture(params=["v1", "v2", "grpc-v2"])
def any_protocol(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def via_predictor(
    predictor: RunningPredictor, transformers: TransformerFactory
) -> Callable[[str], RunningTransformer]:
    """`via_predictor(protocol)`: a transformer in front of the real predictor."""
    return lambda protocol: transformers(
        predictor_host(predictor, protocol), protocol, *REAL_LIMITS
    )


@pytest.fixture
def transformer(via_predictor: Callable[[str], RunningTransformer]) -> RunningTransformer:
    """The default deployment: V1 between transformer and predictor."""
    return via_predictor("v1")


# Small limits, so that segmentation, call splitting and request limits show with short texts.
UPSTREAM_LIMITS = (
    "--max_segment_chars",
    "30",
    "--texts_per_call",
    "3",
    "--max_texts",
    "16",
    "--max_request_chars",
    "400",
)


@pytest.fixture(scope="session")
def _recording_upstream() -> Iterator[RecordingUpstream]:
    with RecordingUpstream() as server:
        yield server


@pytest.fixture
def upstream(_recording_upstream: RecordingUpstream) -> RecordingUpstream:
    """The session's recording upstream, reset to echo (upper-case) with no requests seen."""
    _recording_upstream.answer = echo_upper
    _recording_upstream.clear()
    return _recording_upstream


@pytest.fixture
def via_upstream(
    upstream: RecordingUpstream, transformers: TransformerFactory
) -> UpstreamTransformer:
    """`via_upstream(protocol)`: a transformer (small limits) in front of the recording upstream."""
    return lambda protocol: transformers(upstream.host, protocol, *UPSTREAM_LIMITS)
