"""Bad input is the caller's mistake: a 4xx naming the problem, never a 500, and serving goes on."""

from __future__ import annotations

import grpc
import httpx
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.mlserver.servers import RunningMLServer
from tests.support.clients import v2_request


def text_input(data: object, shape: list[int], datatype: str = "BYTES") -> dict:
    return {"name": "text", "datatype": datatype, "shape": shape, "data": data}


CASES = {
    "unknown pair": (
        {"inputs": [text_input(["a"], [1])], "parameters": {"source": "en", "target": "zz"}},
        "unknown language pair en->zz; installed pairs: en->es",
    ),
    # MLServer's StringCodec would have turned each of these into "" and translated it.
    "int value": ({"inputs": [text_input([7], [1])]}, "input 'text'[0] must be a string, got int"),
    "float value": (
        {"inputs": [text_input(["ok", 2.5], [2])]},
        "input 'text'[1] must be a string, got float",
    ),
    "null value": (
        {"inputs": [text_input([None], [1])]},
        "input 'text'[0] must be a string, got null",
    ),
    "bool value": (
        {"inputs": [text_input([True], [1])]},
        "input 'text'[0] must be a string, got bool",
    ),
    "object value": ({"inputs": [text_input([{"a": 1}], [1])]}, "must be a string, got dict"),
    "non-list data": (
        {"inputs": [text_input("The cat.", [1])]},
        "input 'text' data must be a list, got str",
    ),
    "object data": (
        {"inputs": [text_input({"a": 1}, [1])]},
        "input 'text' data must be a list, got dict",
    ),
    "number data": ({"inputs": [text_input(3, [1])]}, "input 'text' data must be a list, got int"),
    "wrong datatype": (
        {"inputs": [text_input([1], [1], datatype="INT32")]},
        "input 'text' must have datatype BYTES, got INT32",
    ),
    "wrong shape": (
        {"inputs": [text_input(["a", "b"], [1, 2])]},
        "must have shape [N] or [N, 1], got [1, 2]",
    ),
    "shape mismatch": (
        {"inputs": [text_input(["a"], [3])]},
        "input 'text' has 1 values but shape [3]",
    ),
    "too long": (
        {"inputs": [text_input(["a" * 10_001], [1])]},
        "text 0 is too long: 10001 characters (limit 10000)",
    ),
    "too many": (
        {"inputs": [text_input(["a"] * 257, [257])]},
        "too many texts: 257 (limit 256 per request)",
    ),
    "unknown input": (
        {
            "inputs": [
                text_input(["a"], [1]),
                {"name": "lang", "datatype": "BYTES", "shape": [1], "data": ["x"]},
            ]
        },
        "unknown inputs: lang",
    ),
    "text given twice": (
        {"inputs": [text_input(["a"], [1]), text_input(["b"], [1])]},
        "input 'text' given twice",
    ),
    "no inputs": ({"inputs": []}, "missing input tensor 'text'"),
}


@pytest.mark.parametrize(("body", "message"), CASES.values(), ids=CASES.keys())
def test_bad_input_is_a_400_naming_the_problem(
    mlserver: RunningMLServer, body: dict, message: str
) -> None:
    response = httpx.post(mlserver.infer_url, json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


# MLServer validates the V2 JSON schema itself (pydantic) before the runtime sees the request.
SCHEMA_CASES = {
    "unknown datatype": ({"inputs": [text_input(["a"], [1], datatype="STRING")]}, "datatype"),
    "inputs not a list": ({"inputs": 3}, "inputs"),
    "shape not integers": ({"inputs": [text_input(["a"], ["one"])]}, "shape"),
}


@pytest.mark.parametrize(("body", "field"), SCHEMA_CASES.values(), ids=SCHEMA_CASES.keys())
def test_schema_violations_are_a_422_naming_the_field(
    mlserver: RunningMLServer, body: dict, field: str
) -> None:
    response = httpx.post(mlserver.infer_url, json=body)
    assert response.status_code == 422, response.text
    assert any(field in detail["loc"] for detail in response.json()["detail"])


def test_malformed_json_is_a_4xx(mlserver: RunningMLServer) -> None:
    response = httpx.post(
        mlserver.infer_url,
        content=b'{"inputs": [{"name": "text", "data": ["The cat',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["type"] == "json_invalid"


async def test_grpc_bad_input_is_invalid_argument(mlserver: RunningMLServer) -> None:
    async with InferenceGRPCClient(mlserver.grpc_target, retries=0) as client:
        with pytest.raises(grpc.aio.AioRpcError) as unknown_pair:
            await client.infer(v2_request(["The cat sleeps."], source="en", target="xx"))
        wrong_type = InferRequest(
            model_name="translator",
            infer_inputs=[InferInput(name="text", shape=[2], datatype="INT64", data=[1, 2])],
        )
        with pytest.raises(grpc.aio.AioRpcError) as wrong_datatype:
            await client.infer(wrong_type)
    assert unknown_pair.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown language pair en->xx; installed pairs: en->es" in unknown_pair.value.details()
    assert wrong_datatype.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "must have datatype BYTES, got INT64" in wrong_datatype.value.details()


def test_the_server_keeps_serving_after_bad_input(mlserver: RunningMLServer) -> None:
    for body, _ in CASES.values():
        httpx.post(mlserver.infer_url, json=body)
    response = httpx.post(
        mlserver.infer_url, json={"inputs": [text_input(["My city is big."], [1])]}
    )
    assert response.status_code == 200
    assert response.json()["outputs"][0]["data"] == ["Mi ciudad es grande."]
    assert httpx.get(f"{mlserver.base_url}/v2/models/translator/ready").status_code == 200
