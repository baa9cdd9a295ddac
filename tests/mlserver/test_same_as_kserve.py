"""The MLServer and KServe front ends answer the same inputs with the same outputs and errors."""

from __future__ import annotations

import grpc
import httpx
import pytest
from kserve import InferenceGRPCClient

from tests.conftest import DEMO_EXAMPLES
from tests.mlserver.servers import RunningMLServer
from tests.support.clients import grpc_translate, json_translate, rest_translate, v2_request
from tests.support.predictor import RunningPredictor

ENGLISH = [english for english, _ in DEMO_EXAMPLES]

INPUTS = {
    "demo examples": (ENGLISH, {}),
    "explicit pair": (ENGLISH[2:5], {"source": "en", "target": "es"}),
    "layout and several sentences": (
        [f"  {ENGLISH[0]}\n{ENGLISH[1]}  {ENGLISH[2]}\n\n\t{ENGLISH[3]} ", "\n"],
        {},
    ),
    "non-ascii and unknown words": (
        ["The cat sees a beautiful flower. ¿Dónde está «Zürich»? 東京。 🙂", "Ñandú naïve café."],
        {},
    ),
    "empty and whitespace": (["", "   ", ENGLISH[7]], {}),
    "repeated texts": ([ENGLISH[6]] * 5, {}),
}


@pytest.mark.parametrize(("texts", "parameters"), INPUTS.values(), ids=INPUTS.keys())
async def test_same_translations_over_rest_and_grpc(
    mlserver: RunningMLServer,
    kserve_predictor: RunningPredictor,
    texts: list[str],
    parameters: dict[str, str],
) -> None:
    from_kserve = json_translate(kserve_predictor.base_url, texts, **parameters)
    assert json_translate(mlserver.base_url, texts, **parameters) == from_kserve
    assert rest_translate(mlserver.http_target, texts, **parameters) == from_kserve
    assert await grpc_translate(mlserver.grpc_target, texts, **parameters) == from_kserve
    assert await grpc_translate(kserve_predictor.grpc_target, texts, **parameters) == from_kserve


def text_input(data: object, shape: list[int], datatype: str = "BYTES") -> dict:
    return {"name": "text", "datatype": datatype, "shape": shape, "data": data}


# Requests both frameworks accept as V2 JSON, so the core decides: same 400, same message.
BAD_REQUESTS = {
    "unknown pair": {"inputs": [text_input(["a"], [1])], "parameters": {"target": "zz"}},
    "unknown pair in a tensor": {
        "inputs": [
            text_input(["a"], [1]),
            {"name": "source", "datatype": "BYTES", "shape": [1], "data": ["qq"]},
        ]
    },
    "wrong datatype": {"inputs": [text_input([1.5], [1], datatype="FP32")]},
    "wrong shape": {"inputs": [text_input(["a", "b"], [1, 2])]},
    "shape mismatch": {"inputs": [text_input(["a"], [3])]},
    "non-string value": {"inputs": [text_input([7], [1])]},
    "null value": {"inputs": [text_input([None], [1])]},
    "nested object value": {"inputs": [text_input([{"deep": [1]}], [1])]},
    "missing text": {"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["a"]}]},
    "too long": {"inputs": [text_input(["a" * 10_001], [1])]},
    "too many": {"inputs": [text_input(["a"] * 257, [257])]},
    "non-string pair parameter": {"inputs": [text_input(["a"], [1])], "parameters": {"source": 5}},
    "pair tensor with wrong count": {
        "inputs": [
            text_input(["a", "b", "c"], [3]),
            {"name": "target", "datatype": "BYTES", "shape": [2], "data": ["es", "es"]},
        ]
    },
}


@pytest.mark.parametrize("body", BAD_REQUESTS.values(), ids=BAD_REQUESTS.keys())
def test_same_400_and_message_for_bad_input(
    mlserver: RunningMLServer, kserve_predictor: RunningPredictor, body: dict
) -> None:
    from_kserve = httpx.post(f"{kserve_predictor.base_url}/v2/models/translator/infer", json=body)
    from_mlserver = httpx.post(mlserver.infer_url, json=body)
    assert from_kserve.status_code == 400, from_kserve.text
    assert from_mlserver.status_code == 400, from_mlserver.text
    assert from_mlserver.json() == from_kserve.json()


async def test_same_grpc_status_and_message_for_an_unknown_pair(
    mlserver: RunningMLServer, kserve_predictor: RunningPredictor
) -> None:
    errors = []
    for target in (mlserver.grpc_target, kserve_predictor.grpc_target):
        async with InferenceGRPCClient(target, retries=0) as client:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await client.infer(v2_request(["The cat sleeps."], source="en", target="xx"))
        errors.append((error.value.code(), error.value.details()))
    assert errors[0] == errors[1]
    assert errors[0][0] == grpc.StatusCode.INVALID_ARGUMENT
    assert errors[0][1] == "unknown language pair en->xx; installed pairs: en->es"
