"""Every bad input gets a 400 naming the problem, and the server keeps serving."""

from __future__ import annotations

import httpx
import pytest

from tests.support.predictor import RunningPredictor

V1 = "/v1/models/translator:predict"
V2 = "/v2/models/translator/infer"


def v2_text(data: object, shape: list[int] | None = None, datatype: str = "BYTES") -> dict:
    shape = shape if shape is not None else [len(data) if isinstance(data, list) else 1]
    return {"inputs": [{"name": "text", "datatype": datatype, "shape": shape, "data": data}]}


CASES = [
    (
        "unknown pair",
        V1,
        {"instances": [{"text": "a", "source": "en", "target": "zz"}]},
        "unknown language pair en->zz; installed pairs: en->es",
    ),
    ("non-string instance", V1, {"instances": [42]}, "instances[0] must be a string"),
    (
        "nested garbage",
        V1,
        {"instances": [{"text": {"deep": [1]}}]},
        "instances[0].text must be a string",
    ),
    ("instances not a list", V1, {"instances": "The cat sleeps."}, "instances"),
    ("too long", V1, {"instances": ["a" * 10_001]}, "too long: 10001 characters (limit 10000)"),
    ("too many", V1, {"instances": ["a"] * 257}, "too many texts: 257 (limit 256 per request)"),
    ("wrong datatype", V2, v2_text([1.5], datatype="FP32"), "must have datatype BYTES, got FP32"),
    ("wrong shape", V2, v2_text(["a", "b"], shape=[1, 2]), "must have shape [N] or [N, 1]"),
    ("shape mismatch", V2, v2_text(["a"], shape=[3]), "has 1 values but shape [3]"),
    ("non-string tensor value", V2, v2_text([7]), "'text'[0] must be a string, got int"),
    (
        "missing text tensor",
        V2,
        {"inputs": [{"name": "x", "datatype": "BYTES", "shape": [1], "data": ["a"]}]},
        "unknown inputs: x",
    ),
    (
        "unknown pair v2",
        V2,
        {**v2_text(["a"]), "parameters": {"target": "qq"}},
        "unknown language pair en->qq",
    ),
]


@pytest.mark.parametrize(("name", "path", "body", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_400_naming_the_problem(
    predictor: RunningPredictor, name: str, path: str, body: object, message: str
) -> None:
    response = httpx.post(f"{predictor.base_url}{path}", json=body)
    assert response.status_code == 400, (name, response.status_code, response.text)
    assert message in response.json()["error"]


@pytest.mark.parametrize("path", [V1, V2])
def test_malformed_json_is_a_400(predictor: RunningPredictor, path: str) -> None:
    response = httpx.post(
        f"{predictor.base_url}{path}",
        content=b'{"instances": ["The cat',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert "error" in response.json()


def test_the_server_keeps_serving_after_bad_input(predictor: RunningPredictor) -> None:
    for body in ({"instances": [None]}, {"instances": ["x" * 20_000]}, {"inputs": 3}):
        httpx.post(f"{predictor.base_url}{V1}", json=body)
    response = httpx.post(f"{predictor.base_url}{V1}", json={"instances": ["My city is big."]})
    assert response.json() == {"predictions": ["Mi ciudad es grande."]}
