"""Every common client against every server users call (KServe predictor, MLServer predictor,
transformer): exact translations of the demo examples, and answers shaped as the Open Inference
Protocol's REST description says."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import DEMO_EXAMPLES
from tests.support.clients import (
    grpc_translate,
    json_infer,
    kserve_rest_translate,
    rest_translate,
    triton_grpc_translate,
)
from tests.support.open_inference import validate
from tests.support.processes import RunningServer

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]


def http_target(server: RunningServer) -> str:
    return f"127.0.0.1:{server.http_port}"


@pytest.mark.parametrize(
    ("binary_inputs", "binary_outputs"),
    [(False, False), (False, True), (False, None)],
    ids=["json-in-json-out", "json-in-binary-out", "json-in-default-out"],
)
def test_tritonclient_http_json_tensors(
    server: RunningServer, binary_inputs: bool, binary_outputs: bool | None
) -> None:
    translations = rest_translate(
        http_target(server), ENGLISH, binary_inputs=binary_inputs, binary_outputs=binary_outputs
    )
    assert translations == SPANISH


@pytest.mark.parametrize(
    "binary_outputs", [False, True, None], ids=["json-out", "binary-out", "default-out"]
)
@pytest.mark.parametrize("name", ["kserve", "transformer"])
def test_tritonclient_http_binary_tensors(
    request: pytest.FixtureRequest, name: str, binary_outputs: bool | None
) -> None:
    """tritonclient's default for BYTES: the binary tensor extension, in and (by default) out."""
    server = request.getfixturevalue(name)
    translations = rest_translate(
        http_target(server), ENGLISH, binary_inputs=True, binary_outputs=binary_outputs
    )
    assert translations == SPANISH


def test_mlserver_refuses_binary_tensors_with_a_client_error(mlserver: RunningServer) -> None:
    """MLServer's REST server has no binary tensor extension (docs/mlserver.md): its parser
    refuses the body with 422 before the runtime sees it. Clients must send JSON tensors."""
    from tritonclient.utils import InferenceServerException

    with pytest.raises(InferenceServerException) as raised:
        rest_translate(http_target(mlserver), ENGLISH[:1], binary_inputs=True)
    assert raised.value.status() == "422"
    assert "JSON decode error" in raised.value.message()


def test_tritonclient_grpc_raw_tensors(server: RunningServer) -> None:
    assert triton_grpc_translate(server.grpc_target, ENGLISH) == SPANISH


async def test_kserve_grpc_client(server: RunningServer) -> None:
    assert await grpc_translate(server.grpc_target, ENGLISH, source="en", target="es") == SPANISH


async def test_kserve_rest_client_v2(server: RunningServer) -> None:
    assert await kserve_rest_translate(server.base_url, ENGLISH, "v2") == SPANISH


@pytest.mark.parametrize("name", ["kserve", "transformer"])
async def test_kserve_rest_client_v1(request: pytest.FixtureRequest, name: str) -> None:
    server = request.getfixturevalue(name)
    assert await kserve_rest_translate(server.base_url, ENGLISH, "v1", target="es") == SPANISH


def test_plain_json_answer_is_an_open_inference_response(server: RunningServer) -> None:
    document = json_infer(server.base_url, ENGLISH, source="en", target="es")
    validate(document, "inference_response")
    assert document["model_name"] == "translator"
    [output] = document["outputs"]
    assert {key: output[key] for key in ("name", "datatype", "shape", "data")} == {
        "name": "translation", "datatype": "BYTES", "shape": [len(ENGLISH)], "data": SPANISH
    }


@pytest.mark.parametrize(
    "body",
    [
        {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [7]}]},
        {"inputs": [{"name": "text", "datatype": "FP32", "shape": [1], "data": [1.0]}]},
        {"inputs": [{"name": "words", "datatype": "BYTES", "shape": [1], "data": ["a"]}]},
        {
            "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}],
            "parameters": {"target": "xx"},
        },
    ],
    ids=["not-a-string", "wrong-datatype", "unknown-input", "unknown-pair"],
)
def test_errors_are_open_inference_error_responses(server: RunningServer, body: dict) -> None:
    response = httpx.post(f"{server.base_url}/v2/models/translator/infer", json=body, timeout=60)
    assert response.status_code == 400, response.text
    validate(response.json(), "inference_error_response")
