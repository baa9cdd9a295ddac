"""V1 REST, V2 REST and V2 gRPC against the real server, with KServe's clients and plain httpx."""

from __future__ import annotations

import grpc
import httpx
import pytest
from kserve import InferenceGRPCClient, InferenceRESTClient, InferInput, InferRequest, RESTConfig

from tests.conftest import DEMO_EXAMPLES
from tests.support.predictor import RunningPredictor

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]


def v2_request(texts: list[str], **parameters: str) -> InferRequest:
    text = InferInput(name="text", shape=[len(texts)], datatype="BYTES", data=texts)
    return InferRequest(model_name="translator", infer_inputs=[text], parameters=parameters or None)


def test_v1_translates_the_demo_examples_in_order(predictor: RunningPredictor) -> None:
    response = httpx.post(
        f"{predictor.base_url}/v1/models/translator:predict", json={"instances": ENGLISH}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": SPANISH}


def test_v1_objects_with_an_explicit_pair(predictor: RunningPredictor) -> None:
    body = {"instances": [{"text": ENGLISH[0], "source": "en", "target": "es"}, ENGLISH[1]]}
    response = httpx.post(f"{predictor.base_url}/v1/models/translator:predict", json=body)
    assert response.json() == {"predictions": SPANISH[:2]}


def test_several_sentences_in_one_text_keep_their_layout(predictor: RunningPredictor) -> None:
    text = f"{ENGLISH[0]} {ENGLISH[2]}\n\n{ENGLISH[7]}"
    response = httpx.post(
        f"{predictor.base_url}/v1/models/translator:predict", json={"instances": [text]}
    )
    assert response.json()["predictions"] == [f"{SPANISH[0]} {SPANISH[2]}\n\n{SPANISH[7]}"]


async def test_v1_with_kserve_rest_client(predictor: RunningPredictor) -> None:
    async with InferenceRESTClient(RESTConfig(protocol="v1", retries=0)) as client:
        response = await client.infer(
            predictor.base_url, {"instances": ENGLISH[:3]}, model_name="translator"
        )
    assert response["predictions"] == SPANISH[:3]


async def test_v2_rest_with_kserve_rest_client(predictor: RunningPredictor) -> None:
    async with InferenceRESTClient(RESTConfig(protocol="v2", retries=0)) as client:
        response = await client.infer(
            predictor.base_url,
            v2_request(ENGLISH, source="en", target="es"),
            model_name="translator",
        )
    output = response.outputs[0]
    assert (output.name, output.datatype, output.shape) == ("translation", "BYTES", [8])
    assert [
        value.decode() if isinstance(value, bytes) else value for value in output.data
    ] == SPANISH


def test_v2_rest_with_httpx_and_an_n_by_1_shape(predictor: RunningPredictor) -> None:
    body = {
        "id": "req-1",
        "inputs": [
            {
                "name": "text",
                "datatype": "BYTES",
                "shape": [2, 1],
                "data": [[ENGLISH[3]], [ENGLISH[4]]],
            }
        ],
    }
    response = httpx.post(f"{predictor.base_url}/v2/models/translator/infer", json=body)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["id"] == "req-1"
    (output,) = payload["outputs"]
    assert {key: output[key] for key in ("name", "datatype", "shape", "data")} == {
        "name": "translation",
        "datatype": "BYTES",
        "shape": [2],
        "data": SPANISH[3:5],
    }


def test_v2_rest_pair_from_input_tensors(predictor: RunningPredictor) -> None:
    body = {
        "inputs": [
            {"name": "text", "datatype": "BYTES", "shape": [1], "data": [ENGLISH[5]]},
            {"name": "source", "datatype": "BYTES", "shape": [1], "data": ["en"]},
            {"name": "target", "datatype": "BYTES", "shape": [1], "data": ["es"]},
        ]
    }
    response = httpx.post(f"{predictor.base_url}/v2/models/translator/infer", json=body)
    assert response.json()["outputs"][0]["data"] == [SPANISH[5]]


async def test_v2_grpc_with_kserve_grpc_client(predictor: RunningPredictor) -> None:
    async with InferenceGRPCClient(predictor.grpc_target, retries=0) as client:
        response = await client.infer(v2_request(ENGLISH, source="en", target="es"))
    output = response.outputs[0]
    assert (output.name, output.datatype, list(output.shape)) == ("translation", "BYTES", [8])
    assert [value.decode("utf-8") for value in output.data] == SPANISH


@pytest.mark.parametrize("protocol", ["v1", "v2-rest", "grpc"])
async def test_non_ascii_round_trips_exactly(predictor: RunningPredictor, protocol: str) -> None:
    # Spanish output with ñ/á/ó and non-ASCII passed through untouched inside the input.
    texts = ["A girl reads the new book.", "The bird sings. ¿Qué? «ñandú» 日本語 🙂"]
    expected_first = "Una niña lee el libro nuevo."
    if protocol == "v1":
        response = httpx.post(
            f"{predictor.base_url}/v1/models/translator:predict", json={"instances": texts}
        )
        results = response.json()["predictions"]
    elif protocol == "v2-rest":
        async with InferenceRESTClient(RESTConfig(protocol="v2", retries=0)) as client:
            response = await client.infer(
                predictor.base_url, v2_request(texts), model_name="translator"
            )
        results = [v.decode() if isinstance(v, bytes) else v for v in response.outputs[0].data]
    else:
        async with InferenceGRPCClient(predictor.grpc_target, retries=0) as client:
            response = await client.infer(v2_request(texts))
        results = [v.decode("utf-8") for v in response.outputs[0].data]
    assert results[0] == expected_first
    assert results[1].startswith("El pájaro canta.")
    assert len(results) == 2


async def test_grpc_bad_input_is_invalid_argument(predictor: RunningPredictor) -> None:
    async with InferenceGRPCClient(predictor.grpc_target, retries=0) as client:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await client.infer(v2_request(["The cat sleeps."], source="en", target="xx"))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown language pair en->xx" in error.value.details()
    assert "en->es" in error.value.details()


def test_v1_json_without_a_json_content_type(predictor: RunningPredictor) -> None:
    # what `curl -d` sends: application/x-www-form-urlencoded
    response = httpx.post(
        f"{predictor.base_url}/v1/models/translator:predict",
        content=b'{"instances": ["My city is big."]}',
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert response.json() == {"predictions": ["Mi ciudad es grande."]}
    broken = httpx.post(
        f"{predictor.base_url}/v1/models/translator:predict",
        content=b"instances=oops",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert broken.status_code == 400
    assert "not valid JSON" in broken.json()["error"]
