"""Request options on both predictor front ends and the transformer: `alternatives` (other
translations, best first) and `return_scores` (a confidence per text), over V1 and V2, and their
400s."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import DEMO_EXAMPLES
from tests.support.open_inference import validate
from tests.support.processes import RunningServer

ENGLISH = [english for english, _ in DEMO_EXAMPLES[:3]]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES[:3]]
OUT_OF_DOMAIN = "Quantum flux destabilises the reactor."


@pytest.fixture(params=["kserve", "mlserver", "transformer"])
def predictor(request: pytest.FixtureRequest) -> RunningServer:
    return request.getfixturevalue(request.param)


def v2_infer(server: RunningServer, texts: list[str], **parameters: object) -> httpx.Response:
    body = {
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}],
        "parameters": parameters,
    }
    return httpx.post(f"{server.base_url}/v2/models/translator/infer", json=body, timeout=60)


def test_v2_score_and_alternatives_outputs(predictor: RunningServer) -> None:
    response = v2_infer(predictor, [*ENGLISH, OUT_OF_DOMAIN], alternatives=2, return_scores=True)
    assert response.status_code == 200, response.text
    document = response.json()
    validate(document, "inference_response")
    outputs = {output["name"]: output for output in document["outputs"]}
    assert outputs["translation"]["data"][:3] == SPANISH
    score = outputs["score"]
    assert (score["datatype"], score["shape"]) == ("FP32", [4])
    assert all(0 < value <= 1 for value in score["data"])
    assert max(score["data"][:3]) > 0.5 > score["data"][3]
    alternatives = outputs["alternatives"]
    assert (alternatives["datatype"], alternatives["shape"]) == ("BYTES", [4, 2])
    assert len(alternatives["data"]) == 8
    assert alternatives["data"][0] != SPANISH[0]


def test_v2_without_options_answers_only_the_translation(predictor: RunningServer) -> None:
    response = v2_infer(predictor, ENGLISH)
    assert [output["name"] for output in response.json()["outputs"]] == ["translation"]


async def test_v2_options_over_grpc(predictor: RunningServer) -> None:
    from kserve import InferenceGRPCClient

    from tests.support.clients import v2_request

    async with InferenceGRPCClient(predictor.grpc_target, retries=0, timeout=60) as client:
        response = await client.infer(v2_request(ENGLISH, return_scores="true", alternatives="1"))
    outputs = {output.name: output for output in response.outputs}
    assert [value.decode() for value in outputs["translation"].data] == SPANISH
    assert list(outputs["alternatives"].shape) == [3, 1]
    assert all(0 < value <= 1 for value in outputs["score"].data)


def test_v1_predictions_become_objects_with_options(kserve: RunningServer) -> None:
    body = {"instances": ENGLISH, "parameters": {"alternatives": 1, "return_scores": True}}
    response = httpx.post(f"{kserve.base_url}/v1/models/translator:predict", json=body)
    assert response.status_code == 200, response.text
    predictions = response.json()["predictions"]
    assert [p["translation"] for p in predictions] == SPANISH
    assert all(len(p["alternatives"]) == 1 and 0 < p["score"] <= 1 for p in predictions)


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"alternatives": 11}, "'alternatives' must be between 0 and 10, got 11"),
        ({"alternatives": -1}, "'alternatives' must be between 0 and 10, got -1"),
        ({"alternatives": "two"}, "'alternatives' must be a whole number, got str"),
        ({"alternatives": True}, "'alternatives' must be a whole number, got bool"),
        ({"return_scores": "yes"}, "'return_scores' must be true or false"),
    ],
)
def test_bad_option_values_are_400s_naming_them(
    predictor: RunningServer, parameters: dict, message: str
) -> None:
    response = v2_infer(predictor, ENGLISH[:1], **parameters)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


def test_bad_v1_option_names_the_parameter(kserve: RunningServer) -> None:
    body = {"instances": ENGLISH[:1], "parameters": {"alternatives": 99}}
    response = httpx.post(f"{kserve.base_url}/v1/models/translator:predict", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": "parameters.alternatives must be between 0 and 10, got 99"}
