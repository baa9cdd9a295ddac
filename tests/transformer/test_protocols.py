"""The real transformer in front of the real predictor: a V1 body works whatever protocol the
transformer speaks to the predictor, callers may also use V2 REST/gRPC, the predictor's 400s
pass through, long texts are split under the predictor's limit and layouts come back."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.conftest import DEMO_EXAMPLES
from tests.support.predictor import RunningPredictor
from tests.transformer.conftest import MODEL, PREDICTOR_MAX_TEXT_CHARS, RunningTransformer

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]
ViaPredictor = Callable[[str], RunningTransformer]


def test_demo_examples_are_exact_through_every_predictor_protocol(
    via_predictor: ViaPredictor, any_protocol: str
) -> None:
    response = via_predictor(any_protocol).predict({"instances": ENGLISH})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": SPANISH}


def test_explicit_pairs_and_the_predictors_unknown_pair_message(
    via_predictor: ViaPredictor, any_protocol: str
) -> None:
    transformer = via_predictor(any_protocol)
    body = {"instances": [{"text": ENGLISH[0], "source": "en", "target": "es"}, ENGLISH[1]]}
    response = transformer.predict(body)
    assert response.json() == {"predictions": SPANISH[:2]}, response.text
    unknown = transformer.predict({"instances": [{"text": ENGLISH[0], "target": "xx"}]})
    assert unknown.status_code == 400, unknown.text
    message = unknown.json()["error"]
    assert "xx" in message and "en->es" in message  # the predictor's own words: installed pairs


def test_long_texts_are_split_under_the_predictors_limit(
    predictor: RunningPredictor, via_predictor: ViaPredictor, any_protocol: str
) -> None:
    line = " ".join(ENGLISH)  # one line, longer than the predictor accepts
    text = f"{line}\n\n{ENGLISH[7]}"
    assert len(line) > PREDICTOR_MAX_TEXT_CHARS
    direct = httpx.post(
        f"{predictor.base_url}/v1/models/{MODEL}:predict", json={"instances": [text]}, timeout=30
    )
    assert direct.status_code == 400, direct.text
    response = via_predictor(any_protocol).predict({"instances": [text]})
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": [" ".join(SPANISH) + "\n\n" + SPANISH[7]]}


def test_whitespace_unicode_and_paragraphs(transformer: RunningTransformer) -> None:
    text = (
        "  The  small\u00a0dog\tsleeps.\r\n\r\n\r\n\r\nMy city   is big.\u200b\n"
        "The houses are white.  \n"
    )
    response = transformer.predict({"instances": [text]})
    assert response.json() == {"predictions": [f"{SPANISH[0]}\n\n{SPANISH[7]}\n{SPANISH[2]}"]}


def test_records_and_plain_text_bodies(transformer: RunningTransformer) -> None:
    record = transformer.predict({"text": ENGLISH[5], "id": "r-1", "target": "es"})
    assert record.json() == {
        "id": "r-1", "translation": SPANISH[5], "source": None, "target": "es",
    }
    plain = httpx.post(
        transformer.predict_url, content=ENGLISH[6].encode(), timeout=30,
        headers={"content-type": "text/plain; charset=utf-8"},
    )
    assert plain.status_code == 200, plain.text
    assert plain.headers["content-type"].startswith("text/plain")
    assert plain.text == SPANISH[6]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instances": "The cat."}, "'instances' must be a list"),
        ({"instances": [7]}, "instances[0] must be a string or an object with 'text', got int"),
        ({"instances": ["ok", "   "]}, "instances[1] is empty"),
        ({"instances": [{"txt": "typo"}]}, "instances[0] has unknown fields: txt"),
        ({"inputs": []}, "got an object with fields: inputs"),
        (42, "expected a JSON object, string or list of texts, got int"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(
    transformer: RunningTransformer, body: object, message: str
) -> None:
    response = transformer.predict(body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


def test_callers_may_speak_v2_rest_to_the_transformer(via_predictor: ViaPredictor) -> None:
    transformer = via_predictor("grpc-v2")
    body = {
        "id": "v2-call",
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [2, 1],
                    "data": [[ENGLISH[3]], [ENGLISH[4]]]}],
        "parameters": {"source": "en", "target": "es"},
    }
    response = httpx.post(f"{transformer.base_url}/v2/models/{MODEL}/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["id"] == "v2-call"
    assert payload["outputs"] == [
        {"name": "translation", "shape": [2], "datatype": "BYTES", "data": SPANISH[3:5]}
    ]
    bad = httpx.post(
        f"{transformer.base_url}/v2/models/{MODEL}/infer",
        json={"inputs": [{"name": "text", "datatype": "INT32", "shape": [1], "data": [1]}]},
    )
    assert bad.status_code == 400
    assert "datatype BYTES, got INT32" in bad.json()["error"]


async def test_callers_may_speak_v2_grpc_to_the_transformer(via_predictor: ViaPredictor) -> None:
    transformer = via_predictor("v2")
    text = InferInput(name="text", shape=[3], datatype="BYTES", data=ENGLISH[:3])
    client = InferenceGRPCClient(transformer.grpc_target, retries=0, timeout=30)
    try:
        response = await client.infer(
            InferRequest(model_name=MODEL, infer_inputs=[text], parameters={"target": "es"})
        )
    finally:
        await client.close()
    output = response.outputs[0]
    assert (output.name, output.datatype, output.shape) == ("translation", "BYTES", [3])
    assert [v.decode() if isinstance(v, bytes) else v for v in output.data] == SPANISH[:3]


def test_readiness_follows_the_predictor(transformer: RunningTransformer) -> None:
    base = transformer.base_url
    assert httpx.get(f"{base}/v2/models/{MODEL}/ready").json() == {"name": MODEL, "ready": True}
    assert httpx.get(f"{base}/v1/models/{MODEL}").json() == {"name": MODEL, "ready": True}
    assert httpx.get(f"{base}/v2/health/ready").status_code == 200
