"""SIGTERM during load: every request the server accepted before the signal is answered (200,
exact translation; no reset, no 5xx), and the process exits well within the grace period.

Grace periods: Knative gives a pod its revision `timeout` (manifests/base/inferenceservice.yaml:
120 s predictor, 150 s transformer); KServe's ModelServer drains for at most 30 s
(`grace_period`). The exit must come within that 30 s.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
import httpx
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub

from tests.hardening.load import demo_batch
from tests.mlserver.servers import start_mlserver
from tests.support.metrics import metric_value
from tests.support.predictor import start_kserve_predictor
from tests.support.processes import ServerProcess
from tests.transformer.conftest import start_transformer

KSERVE_GRACE_S = 30
REST_REQUESTS = 16
GRPC_REQUESTS = 4
TEXTS_PER_REQUEST = 100
SENTENCES_PER_TEXT = 6  # 10-12,000 sentences in flight: seconds of work to drain
REST_SENTENCES = REST_REQUESTS * TEXTS_PER_REQUEST * SENTENCES_PER_TEXT
# A queue large enough to hold the whole load: nothing is refused, all of it is in flight.
# One batch in flight at a time: the running batch is the only work in neither metric, and the
# engine cannot finish the load while the last requests are still arriving.
BATCH = 32
ENGINE = {"max_queue_sentences": 40000, "max_batch_sentences": BATCH, "inter_threads": 1}
BIG_QUEUE = tuple(part for name, value in ENGINE.items() for part in (f"--{name}", str(value)))


def metric_totals(metrics_url: str, *names: str) -> list[float]:
    """Each named metric summed over its labels, from a server's /metrics."""
    text = httpx.get(metrics_url, timeout=10).text
    return [metric_value(text, name) for name in names]


def progress(metrics_url: str) -> list[float]:
    """(sentences queued, sentences translated so far) from the core's metrics."""
    return metric_totals(metrics_url, "argos_queue_sentences", "argos_sentences_translated_total")


async def wait_all_accepted(metrics_url: str, translated_before: float, sentences: int) -> float:
    """Until every sentence sent is queued, in the running batch, or translated: each request
    was accepted. The running batch (at most BATCH sentences) is in neither metric; a request
    (600 sentences) is larger, so the slack cannot hide one. Returns the sentences still queued
    at that moment (work the shutdown must finish)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        queued, translated = await asyncio.to_thread(progress, metrics_url)
        if queued + translated - translated_before + BATCH >= sentences:
            return queued
        await asyncio.sleep(0.05)
    raise AssertionError("the requests were not all accepted within 60 s")


async def rest_call(client: httpx.AsyncClient, url: str, body: dict, expected: list[str],
                    read: Callable[[dict], list[str]]) -> str:
    try:
        response = await client.post(url, json=body)
    except httpx.TransportError as exc:
        return f"transport error {exc!r}"
    if response.status_code != 200:
        return f"status {response.status_code}: {response.text[:200]}"
    return "ok" if read(response.json()) == expected else f"wrong: {response.text[:200]}"


async def grpc_call(stub: GRPCInferenceServiceStub, texts: list[str], expected: list[str]) -> str:
    tensor = pb.ModelInferRequest.InferInputTensor(
        name="text", datatype="BYTES", shape=[len(texts)],
        contents=pb.InferTensorContents(bytes_contents=[t.encode() for t in texts]),
    )
    try:
        response = await stub.ModelInfer(
            pb.ModelInferRequest(model_name="translator", inputs=[tensor]), timeout=120
        )
    except grpc.aio.AioRpcError as error:
        return f"grpc {error.code().name}: {error.details()}"
    answer = [v.decode() for v in response.outputs[0].contents.bytes_contents]
    return "ok" if answer == expected else f"wrong: {answer[:2]}"


def transformer_accepted(metrics_url: str) -> float:
    """Requests the transformer has accepted (its preprocess ran)."""
    return metric_totals(metrics_url, "request_preprocess_seconds_count")[0]


async def wait_transformer_accepted(metrics_url: str, before: float, requests: int) -> None:
    """Until the transformer has accepted every request (its preprocess ran)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if await asyncio.to_thread(transformer_accepted, metrics_url) >= before + requests:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the requests were not all accepted within 60 s")


async def sigterm_under_load(
    server: ServerProcess, metrics_url: str, calls: list[Callable[[], Awaitable[str]]],
    sentences: int, transformer_metrics_url: str | None = None,
    upstream: ServerProcess | None = None,
) -> tuple[list[str], float, float, int | None]:
    """Start every call, wait until all are accepted, SIGTERM; returns (outcomes, work in
    flight at the signal (sentences queued; for the transformer: requests unanswered), seconds
    from the signal to exit, exit code). A transformer queues requests itself, so its own
    metrics say when all are in; its `upstream` (the predictor) is stopped (SIGSTOP) from
    before the load until just after the SIGTERM, so that the work is certainly in flight."""
    _, translated_before = progress(metrics_url)
    accepted_before = (
        transformer_accepted(transformer_metrics_url) if transformer_metrics_url else 0.0
    )
    if upstream is not None:
        upstream.signal(signal.SIGSTOP)
    try:
        tasks = [asyncio.create_task(call()) for call in calls]
        if transformer_metrics_url:
            await wait_transformer_accepted(transformer_metrics_url, accepted_before, len(calls))
            queued = float(sum(not task.done() for task in tasks))
        else:
            queued = await wait_all_accepted(metrics_url, translated_before, sentences)
        signalled = time.monotonic()
        server.signal(signal.SIGTERM)
    finally:
        if upstream is not None:
            upstream.signal(signal.SIGCONT)
    outcomes = await asyncio.gather(*tasks)
    code = await asyncio.to_thread(server.process.wait, KSERVE_GRACE_S + 30)
    return outcomes, queued, time.monotonic() - signalled, code


def v1_predictions(body: dict) -> list[str]:
    return body["predictions"]


def v2_outputs(body: dict) -> list[str]:
    return body["outputs"][0]["data"]


def report(
    name: str, outcomes: list[str], queued: float, seconds: float, code: int | None,
    unit: str = "sentences",
) -> None:
    print(f"{name}: SIGTERM with {queued:.0f} {unit} queued; {outcomes.count('ok')}/"
          f"{len(outcomes)} answered ok; exit {code} after {seconds:.1f} s")
    assert [o for o in outcomes if o != "ok"] == []
    assert seconds < KSERVE_GRACE_S
    assert queued > 0, "the load finished before SIGTERM: nothing was in flight"


# The three drains, each given a running server (a process here, a container in tests/images):
# start the load, wait until all of it is accepted, SIGTERM, check every answer and the exit.


async def assert_kserve_predictor_drains(
    name: str, server: ServerProcess, base_url: str, grpc_target: str
) -> None:
    """REST (V1) and gRPC (V2) load on a KServe predictor started with BIG_QUEUE."""
    url = f"{base_url}/v1/models/translator:predict"
    limits = httpx.Limits(max_connections=REST_REQUESTS)
    async with (
        httpx.AsyncClient(timeout=120, limits=limits) as client,
        grpc.aio.insecure_channel(grpc_target) as channel,
    ):
        stub = GRPCInferenceServiceStub(channel)
        calls = []
        for i in range(REST_REQUESTS):
            english, spanish = demo_batch(TEXTS_PER_REQUEST, i, SENTENCES_PER_TEXT)
            calls.append(lambda e=english, s=spanish: rest_call(
                client, url, {"instances": e}, s, v1_predictions))
        for i in range(GRPC_REQUESTS):
            english, spanish = demo_batch(TEXTS_PER_REQUEST, i, SENTENCES_PER_TEXT)
            calls.append(lambda e=english, s=spanish: grpc_call(stub, e, s))
        sentences = REST_SENTENCES + GRPC_REQUESTS * TEXTS_PER_REQUEST * SENTENCES_PER_TEXT
        outcomes, queued, seconds, code = await sigterm_under_load(
            server, f"{base_url}/metrics", calls, sentences
        )
    report(name, outcomes, queued, seconds, code)
    assert code == 0, server.log()[-3000:]


async def assert_mlserver_drains(
    name: str, server: ServerProcess, infer_url: str, metrics_url: str
) -> None:
    """V2 REST load on MLServer started with ENGINE (and max_wait_ms 5) as model parameters."""
    limits = httpx.Limits(max_connections=REST_REQUESTS)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        calls = []
        for i in range(REST_REQUESTS):
            english, spanish = demo_batch(TEXTS_PER_REQUEST, i, SENTENCES_PER_TEXT)
            body = {"inputs": [{"name": "text", "datatype": "BYTES",
                                "shape": [len(english)], "data": english}]}
            calls.append(lambda b=body, s=spanish: rest_call(
                client, infer_url, b, s, v2_outputs))
        outcomes, queued, seconds, code = await sigterm_under_load(
            server, metrics_url, calls, REST_SENTENCES
        )
    report(name, outcomes, queued, seconds, code)


async def assert_transformer_drains(
    name: str, server: ServerProcess, transformer_url: str, predictor_url: str,
    predictor: ServerProcess,
) -> None:
    """V1 load on a transformer in front of a KServe predictor (`predictor`, its server)
    started with BIG_QUEUE."""
    predict_url = f"{transformer_url}/v1/models/translator:predict"
    limits = httpx.Limits(max_connections=REST_REQUESTS)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        calls = []
        for i in range(REST_REQUESTS):
            english, spanish = demo_batch(TEXTS_PER_REQUEST, i, SENTENCES_PER_TEXT)
            calls.append(lambda e=english, s=spanish: rest_call(
                client, predict_url, {"instances": e}, s, v1_predictions))
        outcomes, queued, seconds, code = await sigterm_under_load(
            server, f"{predictor_url}/metrics", calls, REST_SENTENCES, f"{transformer_url}/metrics",
            upstream=predictor,
        )
    report(name, outcomes, queued, seconds, code, unit="requests")


async def test_kserve_predictor_drains_rest_and_grpc_on_sigterm(tmp_path: Path) -> None:
    predictor = start_kserve_predictor(tmp_path, *BIG_QUEUE)
    try:
        await assert_kserve_predictor_drains(
            "kserve predictor", predictor.server, predictor.base_url, predictor.grpc_target
        )
    finally:
        predictor.stop()


async def test_mlserver_drains_on_sigterm(tmp_path: Path) -> None:
    mlserver = start_mlserver(
        tmp_path,
        extra={**ENGINE, "max_wait_ms": 5},
    )
    try:
        await assert_mlserver_drains(
            "mlserver", mlserver.server, mlserver.infer_url, mlserver.metrics_url
        )
    finally:
        mlserver.stop()


async def test_transformer_drains_on_sigterm(tmp_path: Path) -> None:
    predictor = start_kserve_predictor(tmp_path, *BIG_QUEUE)
    transformer = None
    try:
        transformer = start_transformer(tmp_path, f"127.0.0.1:{predictor.http_port}", "v1")
        await assert_transformer_drains(
            "transformer", transformer.server, transformer.base_url, predictor.base_url,
            predictor.server,
        )
        assert predictor.server.alive()
    finally:
        if transformer is not None:
            transformer.server.stop()
        predictor.stop()
