"""The malformed-request corpus: every request is a 4xx with a JSON error, none a 5xx or a reset,
and the servers still translate correctly afterwards."""

from __future__ import annotations

import json
from collections import Counter

import grpc
import httpx
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub

from tests.hardening.corpus import BadRequest, predictor_corpus, transformer_corpus
from tests.support.predictor import RunningPredictor
from tests.transformer.conftest import RunningTransformer

MIN_BAD_REQUESTS = 500



def answer(client: httpx.Client, request: BadRequest) -> tuple[int | str, str]:
    """(status, problem) where problem is '' when the answer is a 4xx with a JSON error."""
    try:
        response = client.post(request.path, content=request.body, headers=request.headers)
    except httpx.TransportError as exc:
        return type(exc).__name__, f"transport error: {exc!r}"
    try:
        error = response.json().get("error")
    except (ValueError, AttributeError):
        error = None
    if not 400 <= response.status_code < 500:
        return response.status_code, f"status {response.status_code}: {response.text[:200]}"
    if not isinstance(error, str) or not error:
        return response.status_code, f"no JSON error field: {response.text[:200]}"
    return response.status_code, ""


def run_corpus(base_url: str, corpus: list[BadRequest]) -> tuple[Counter, dict[str, str]]:
    statuses: Counter = Counter()
    problems: dict[str, str] = {}
    client = httpx.Client(base_url=base_url, timeout=60)
    try:
        for request in corpus:
            status, problem = answer(client, request)
            statuses[status] += 1
            if problem:
                problems[request.name] = problem
                # A failed exchange may leave the connection unusable: start a fresh one.
                client.close()
                client = httpx.Client(base_url=base_url, timeout=60)
    finally:
        client.close()
    return statuses, problems


def test_the_corpus_is_large_deterministic_and_distinct() -> None:
    first, second = predictor_corpus(), predictor_corpus()
    assert [r.key() for r in first] == [r.key() for r in second]
    assert len({r.key() for r in first}) == len(first) >= MIN_BAD_REQUESTS
    assert len({r.key() for r in transformer_corpus()}) >= 400


def test_predictor_answers_every_bad_request_with_a_json_4xx(predictor: RunningPredictor) -> None:
    corpus = predictor_corpus()
    statuses, problems = run_corpus(predictor.base_url, corpus)
    print(f"predictor corpus: {len(corpus)} bad requests, statuses {dict(statuses)}")
    assert problems == {}
    assert sum(statuses.values()) == len(corpus) >= MIN_BAD_REQUESTS
    assert predictor.server.alive()
    response = httpx.post(
        f"{predictor.base_url}/v1/models/translator:predict",
        json={"instances": ["The houses are white.", "My city is big."]},
    )
    assert response.json() == {"predictions": ["Las casas son blancas.", "Mi ciudad es grande."]}


def test_transformer_answers_every_bad_request_with_a_json_4xx(
    transformer: RunningTransformer,
) -> None:
    corpus = transformer_corpus()
    statuses, problems = run_corpus(transformer.base_url, corpus)
    print(f"transformer corpus: {len(corpus)} bad requests, statuses {dict(statuses)}")
    assert problems == {}
    assert transformer.server.alive()
    response = httpx.post(
        f"{transformer.base_url}/translate",
        json={"q": "The cat sees a beautiful flower.", "source": "en", "target": "es"},
        timeout=30,
    )
    assert response.json()["translatedText"] == "El gato ve una flor hermosa."


# gRPC: ModelInfer requests that break the V2 contract in every way a tensor can.
def _tensor(name: str = "text", datatype: str = "BYTES", shape: tuple = (1,), **contents):
    return pb.ModelInferRequest.InferInputTensor(
        name=name, datatype=datatype, shape=list(shape), contents=pb.InferTensorContents(**contents)
    )


def _length_prefixed(*values: bytes) -> bytes:
    return b"".join(len(v).to_bytes(4, "little") + v for v in values)


def grpc_corpus() -> dict[str, pb.ModelInferRequest]:
    ok = {"bytes_contents": [b"My city is big."]}
    numeric = {
        "BOOL": {"bool_contents": [True]},
        "INT32": {"int_contents": [1]},
        "INT64": {"int64_contents": [1]},
        "UINT32": {"uint_contents": [1]},
        "FP32": {"fp32_contents": [float("nan")]},
        "FP64": {"fp64_contents": [float("inf")]},
    }
    cases: dict[str, list] = {
        **{f"datatype {d}": [_tensor(datatype=d, **c)] for d, c in numeric.items()},
        "no inputs": [],
        "wrong input name": [_tensor(name="txt", **ok)],
        "2-D shape": [_tensor(shape=(1, 2), bytes_contents=[b"a", b"b"])],
        "3-D shape": [_tensor(shape=(1, 1, 1), **ok)],
        "shape larger than data": [_tensor(shape=(5,), **ok)],
        "shape smaller than data": [_tensor(shape=(1,), bytes_contents=[b"a", b"b"])],
        "invalid utf-8": [_tensor(bytes_contents=[b"\xff\xfe\xfa"])],
        "too long": [_tensor(bytes_contents=[b"x" * 10_001])],
        "too many": [_tensor(shape=(257,), bytes_contents=[b"a"] * 257)],
        "10k items": [_tensor(shape=(10_000,), bytes_contents=[b"a"] * 10_000)],
        "source as FP32": [
            _tensor(**ok),
            _tensor(name="source", datatype="FP32", fp32_contents=[1]),
        ],
        "unknown target tensor value": [
            _tensor(**ok),
            _tensor(name="target", bytes_contents=[b"zz"]),
        ],
    }
    requests = {
        name: pb.ModelInferRequest(model_name="translator", inputs=inputs)
        for name, inputs in cases.items()
    }
    raw_cases = {
        "raw garbage": b"\xff\xff\xff\xff",
        "raw truncated length prefix": b"\x05\x00",
        "raw length beyond data": _length_prefixed(b"abc")[:-1],
        "raw invalid utf-8": _length_prefixed(b"\xc3\x28"),
    }
    for name, raw in raw_cases.items():
        requests[name] = pb.ModelInferRequest(
            model_name="translator",
            inputs=[_tensor()],
            raw_input_contents=[raw],
        )
    for name, parameter in {
        "unknown pair parameter": pb.InferParameter(string_param="zz"),
        "target parameter as int": pb.InferParameter(int64_param=3),
        "target parameter as bool": pb.InferParameter(bool_param=True),
    }.items():
        requests[name] = pb.ModelInferRequest(
            model_name="translator", inputs=[_tensor(**ok)], parameters={"target": parameter}
        )
    return requests


async def test_grpc_bad_requests_are_invalid_argument(predictor: RunningPredictor) -> None:
    codes: dict[str, grpc.StatusCode] = {}
    async with grpc.aio.insecure_channel(
        predictor.grpc_target, options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    ) as channel:
        stub = GRPCInferenceServiceStub(channel)
        for name, request in grpc_corpus().items():
            try:
                await stub.ModelInfer(request, timeout=30)
                codes[name] = grpc.StatusCode.OK
            except grpc.aio.AioRpcError as error:
                codes[name] = error.code()
        translated = await stub.ModelInfer(
            pb.ModelInferRequest(
                model_name="translator", inputs=[_tensor(bytes_contents=[b"My city is big."])]
            ),
            timeout=30,
        )
    print(json.dumps({name: code.name for name, code in codes.items()}, indent=1))
    wrong = {n: c for n, c in codes.items() if c != grpc.StatusCode.INVALID_ARGUMENT}
    assert wrong == {}
    assert list(translated.outputs[0].contents.bytes_contents) == [b"Mi ciudad es grande."]
