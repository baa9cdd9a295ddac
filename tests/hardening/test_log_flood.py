"""A flood of malformed requests is the callers' problem, not the server's: no ERROR line, about
one log line per request (the one naming why it was refused), and in JSON mode every line one
JSON object carrying the request's id and model."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import grpc
import pytest
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub

from tests.hardening.corpus import V2_PATH, predictor_corpus
from tests.hardening.test_corpus import grpc_corpus, run_corpus
from tests.mlserver.servers import SHIPPED_SETTINGS, RunningMLServer, start_mlserver
from tests.support.predictor import RunningPredictor, start_kserve_predictor
from tests.support.processes import RunningServer

FLOOD = 1000


@pytest.fixture(scope="module")
def json_logging_predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPredictor]:
    running = start_kserve_predictor(tmp_path_factory.mktemp("flood"), "--log_format", "json")
    yield running
    running.stop()


def json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    documents = []
    for line in lines:
        try:
            documents.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON log line: {line[:300]}")
    return documents


@pytest.fixture(scope="module")
def json_logging_mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMLServer]:
    running = start_mlserver(
        tmp_path_factory.mktemp("flood-mlserver"),
        env={"MLSERVER_LOGGING_SETTINGS": str(SHIPPED_SETTINGS / "logging-json.json")},
    )
    yield running
    running.stop()


@pytest.fixture(params=["json_logging_predictor", "json_logging_mlserver"])
def server(request: pytest.FixtureRequest) -> RunningServer:
    return request.getfixturevalue(request.param)


def test_a_flood_of_bad_requests_logs_one_line_each_and_no_error(server: RunningServer) -> None:
    start = len(server.server.log())
    grpc_requests = list(grpc_corpus().values())
    corpus = predictor_corpus()
    if isinstance(server, RunningMLServer):  # V2 only
        corpus = [request for request in corpus if request.path == V2_PATH]
    http_requests = list(itertools.islice(itertools.cycle(corpus), FLOOD - 50))
    statuses, problems = run_corpus(server.base_url, http_requests)
    assert sum(statuses.values()) == len(http_requests)
    if isinstance(server, RunningMLServer):
        # MLServer's own parser answers what is not V2 JSON with 422 {"detail"}
        # (docs/mlserver.md), and takes request parameters of any shape (unknown ones are
        # ignored), so one corpus entry is served.
        problems = {
            name: problem
            for name, problem in problems.items()
            if not problem.startswith(("no JSON error field", "status 200"))
        }
    assert problems == {}
    with grpc.insecure_channel(server.grpc_target) as channel:
        stub = GRPCInferenceServiceStub(channel)
        for index, request in enumerate(itertools.islice(itertools.cycle(grpc_requests), 50)):
            with pytest.raises(grpc.RpcError) as refused:
                stub.ModelInfer(request, metadata=(("x-request-id", f"flood-{index}"),))
            assert refused.value.code() in (
                grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.RESOURCE_EXHAUSTED
            )
    documents = json_lines(server.server.log()[start:])
    errors = [d for d in documents if d["level"] in ("ERROR", "CRITICAL")]
    assert errors == [], errors[:3]
    assert len(documents) <= FLOOD * 1.05, f"{len(documents)} log lines for {FLOOD} requests"
    assert all({"time", "level", "logger", "message"} <= d.keys() for d in documents)
    assert "exception" not in json.dumps(documents)
    grpc_lines = [d for d in documents if d.get("request_id", "").startswith("flood-")]
    assert len(grpc_lines) >= 40, "gRPC rejections carry the caller's request id"
    assert {d.get("model") for d in grpc_lines} == {"translator"}
