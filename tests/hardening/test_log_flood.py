"""A flood of malformed requests is the callers' problem, not the server's: no ERROR line, about
one log line per request (the one naming why it was refused), and in JSON mode every line one
JSON object carrying the request's id and model. One request id is followed from the
transformer into the predictor's log."""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub

from tests.hardening.corpus import (
    CLOUDEVENT_HEADERS,
    V2_PATH,
    BadRequest,
    predictor_corpus,
    transformer_corpus,
)
from tests.hardening.test_corpus import grpc_corpus, run_corpus
from tests.mlserver.servers import SHIPPED_SETTINGS, RunningMLServer, start_mlserver
from tests.support.json_logs import json_lines, lines_with_id
from tests.support.predictor import RunningPredictor, start_kserve_predictor
from tests.support.processes import RunningServer
from tests.transformer.conftest import RunningTransformer, start_transformer

FLOOD = 1000


@pytest.fixture(scope="module")
def json_logging_predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPredictor]:
    running = start_kserve_predictor(tmp_path_factory.mktemp("flood"), "--log_format", "json")
    yield running
    running.stop()


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


# --- the transformer: the same flood, and one id followed into the predictor's log ---------


@pytest.fixture(scope="module")
def json_logging_transformer(
    json_logging_predictor: RunningPredictor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningTransformer]:
    running = start_transformer(
        tmp_path_factory.mktemp("flood-transformer"),
        f"127.0.0.1:{json_logging_predictor.http_port}",
        "v1",
        "--log_format",
        "json",
    )
    yield running
    running.server.stop()


def transformer_flood_corpus() -> list[BadRequest]:
    """LibreTranslate, CloudEvents (binary, structured) and V1 from the transformer's corpus,
    with the predictor corpus's V2 requests that are bad for the transformer too (not the
    over-long texts, which the transformer splits and translates)."""
    v2 = [
        request
        for request in predictor_corpus()
        if request.path == V2_PATH and not request.name.endswith(("items", "text", "batch"))
    ]
    return [*transformer_corpus(), *v2]


def test_a_flood_of_bad_requests_to_the_transformer_logs_one_line_each_and_no_error(
    json_logging_transformer: RunningTransformer,
) -> None:
    transformer = json_logging_transformer
    start = len(transformer.server.log())
    corpus = transformer_flood_corpus()
    kinds = Counter(request.name.split(":")[0] for request in corpus)
    assert {"libretranslate", "cloudevent structured", "cloudevent binary", "transformer v1",
            "v2"} <= kinds.keys(), kinds
    http_requests = list(itertools.islice(itertools.cycle(corpus), FLOOD - 50))
    statuses, problems = run_corpus(transformer.base_url, http_requests)
    assert problems == {}
    assert sum(statuses.values()) == len(http_requests)
    with grpc.insecure_channel(transformer.grpc_target) as channel:
        stub = GRPCInferenceServiceStub(channel)
        grpc_requests = list(grpc_corpus().values())
        codes: Counter = Counter()
        for index, request in enumerate(itertools.islice(itertools.cycle(grpc_requests), 50)):
            try:  # (the transformer takes a few of them: unknown parameters, say)
                stub.ModelInfer(request, metadata=(("x-request-id", f"flood-{index}"),))
                codes["OK"] += 1
            except grpc.RpcError as refused:
                codes[refused.code().name] += 1
    assert codes.keys() <= {"OK", "INVALID_ARGUMENT"}, codes
    assert codes["INVALID_ARGUMENT"] >= 25, codes
    documents = json_lines(transformer.server.log()[start:])
    errors = [d for d in documents if d["level"] in ("ERROR", "CRITICAL")]
    assert errors == [], errors[:3]
    assert len(documents) <= FLOOD * 1.05, f"{len(documents)} log lines for {FLOOD} requests"
    assert "exception" not in json.dumps(documents)
    assert all(d.get("request_id") for d in documents), "every line names its request"
    grpc_lines = [d for d in documents if d["request_id"].startswith("flood-")]
    assert len(grpc_lines) == codes["INVALID_ARGUMENT"], "each gRPC rejection: one line, its id"


def logged(server: RunningServer, request_id: str) -> list[dict]:
    return lines_with_id(server.server.log(), request_id)


def test_one_request_id_is_followed_through_the_transformer_and_the_predictor(
    json_logging_transformer: RunningTransformer, json_logging_predictor: RunningPredictor,
    tmp_path: Path,
) -> None:
    """Each request names a pair the predictor refuses, so that both log a line for it: the
    caller's X-Request-Id, an id the transformer makes, and a CloudEvent's id."""
    transformer, predictor = json_logging_transformer, json_logging_predictor
    refused = {"instances": [{"text": "The cat sleeps.", "target": "zz"}]}
    given = transformer.predict(refused, headers={"X-Request-Id": "follow-http-1"})
    made = httpx.post(
        f"{transformer.base_url}/translate",
        json={"q": "The cat sleeps.", "source": "en", "target": "zz"},
        timeout=30,
    )
    event = httpx.post(
        transformer.predict_url,
        content=json.dumps({"text": "The cat sleeps.", "target": "zz"}),
        headers={**CLOUDEVENT_HEADERS, "ce-id": "event-42", "content-type": "application/json"},
        timeout=30,
    )
    assert given.status_code == made.status_code == event.status_code == 400
    assert given.headers["x-request-id"] == "follow-http-1"
    assert event.headers["x-request-id"] == "event-42"
    ids = ["follow-http-1", made.headers["x-request-id"], "event-42"]
    assert len(ids[1]) == 32
    for request_id in ids:
        predictor.server.wait_until(lambda rid=request_id: bool(logged(predictor, rid)))
        for server in (transformer, predictor):
            lines = logged(server, request_id)
            assert [d["level"] for d in lines] == ["INFO"], lines
            assert "zz" in lines[0]["message"]

    # Over gRPC the id travels as metadata.
    grpc_transformer = start_transformer(
        tmp_path, predictor.grpc_target, "grpc-v2", "--log_format", "json"
    )
    try:
        response = grpc_transformer.predict(refused, headers={"X-Request-Id": "follow-grpc-1"})
        assert response.status_code == 400
        predictor.server.wait_until(lambda: bool(logged(predictor, "follow-grpc-1")))
        assert len(logged(grpc_transformer, "follow-grpc-1")) == 1
    finally:
        grpc_transformer.server.stop()
