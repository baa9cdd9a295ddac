"""Options through the transformer (`alternatives`, `return_scores`): its V1 and V2 endpoints
answer as the predictor does, over each protocol it speaks to the predictor; long texts cut
into segments are joined back per text; calls with different options never share a predictor
call; bad values are 400s naming them."""

from __future__ import annotations

import asyncio
import math
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest

from argos_protocol import PLAIN, TextTranslation, TranslationOptions
from argos_transformer.coalescing_client import CoalescingClient
from argos_transformer.errors import PredictorFailed
from argos_transformer.predictor_client import PredictorClient
from tests.conftest import DEMO_EXAMPLES
from tests.support.open_inference import validate
from tests.support.predictor import RunningPredictor
from tests.support.processes import RunningServer
from tests.transformer.conftest import MODEL, RunningTransformer, predictor_host
from tests.transformer.upstreams import Answer, RecordingUpstream

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]
OPTIONS = {"alternatives": 2, "return_scores": True}
# Two demo sentences: 46 characters, so the transformer (segments of at most 40 characters
# here) sends them as two segments, while the predictor translates them sentence by sentence.
TWO_SENTENCES = f"{ENGLISH[0]} {ENGLISH[7]}"

ViaPredictor = Callable[[str], RunningTransformer]


def v1_predict(server: RunningServer, instances: list, **parameters: Any) -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/v1/models/{MODEL}:predict",
        json={"instances": instances, "parameters": parameters},
        timeout=60,
    )


def v2_infer(server: RunningServer, texts: list[str], **parameters: Any) -> httpx.Response:
    body = {
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}],
        "parameters": parameters,
    }
    return httpx.post(f"{server.base_url}/v2/models/{MODEL}/infer", json=body, timeout=60)


def predictions(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    return response.json()["predictions"]


def assert_same_answers(transformed: list[dict], direct: list[dict]) -> None:
    """Translations and alternatives exactly; scores up to float rounding (they travel as
    their logarithm, and as FP32 over V2)."""
    assert [p["translation"] for p in transformed] == [p["translation"] for p in direct]
    assert [p["alternatives"] for p in transformed] == [p["alternatives"] for p in direct]
    for mine, theirs in zip(transformed, direct, strict=True):
        assert mine["score"] == pytest.approx(theirs["score"], rel=1e-6)


def test_v1_options_answer_as_the_predictor_over_every_predictor_protocol(
    predictor: RunningPredictor, via_predictor: ViaPredictor, any_protocol: str
) -> None:
    texts = ENGLISH[:3]
    direct = predictions(v1_predict(predictor, texts, **OPTIONS))
    transformed = predictions(v1_predict(via_predictor(any_protocol), texts, **OPTIONS))
    assert [p["translation"] for p in transformed] == SPANISH[:3]
    assert all(len(p["alternatives"]) == 2 and 0 < p["score"] <= 1 for p in transformed)
    assert_same_answers(transformed, direct)


def test_each_option_alone_and_none(
    predictor: RunningPredictor, via_predictor: ViaPredictor
) -> None:
    transformer = via_predictor("grpc-v2")
    scores_only = predictions(v1_predict(transformer, ENGLISH[3:4], return_scores=True))
    assert list(scores_only[0]) == ["translation", "score"]
    alternatives_only = predictions(v1_predict(transformer, ENGLISH[3:4], alternatives=1))
    assert list(alternatives_only[0]) == ["translation", "alternatives"]
    assert alternatives_only == predictions(v1_predict(predictor, ENGLISH[3:4], alternatives=1))
    assert predictions(v1_predict(transformer, ENGLISH[3:4], alternatives=0)) == SPANISH[3:4]


def test_segments_of_a_long_text_are_joined_per_text(
    predictor: RunningPredictor, via_predictor: ViaPredictor
) -> None:
    """Alternative k joins each segment's k-th alternative (the predictor joins its sentences'
    the same way); the score is the segments' geometric mean weighted by translation length."""
    (whole,) = predictions(v1_predict(via_predictor("v2"), [TWO_SENTENCES], **OPTIONS))
    assert whole["translation"] == f"{SPANISH[0]} {SPANISH[7]}"
    (direct,) = predictions(v1_predict(predictor, [TWO_SENTENCES], alternatives=2))
    assert whole["alternatives"] == direct["alternatives"]
    parts = predictions(v1_predict(predictor, [ENGLISH[0], ENGLISH[7]], return_scores=True))
    weights = [len(part["translation"]) for part in parts]
    expected = math.exp(
        sum(w * math.log(part["score"]) for w, part in zip(weights, parts, strict=True))
        / sum(weights)
    )
    assert whole["score"] == pytest.approx(expected, rel=1e-6)


def test_v2_rest_outputs_as_the_predictor_gives_them(
    predictor: RunningPredictor, via_predictor: ViaPredictor
) -> None:
    texts = [ENGLISH[5], TWO_SENTENCES]
    response = v2_infer(via_predictor("v1"), texts, **OPTIONS)
    assert response.status_code == 200, response.text
    document = response.json()
    validate(document, "inference_response")
    outputs = {output["name"]: output for output in document["outputs"]}
    assert outputs["translation"]["data"] == [SPANISH[5], f"{SPANISH[0]} {SPANISH[7]}"]
    assert (outputs["score"]["datatype"], outputs["score"]["shape"]) == ("FP32", [2])
    alternatives = outputs["alternatives"]
    assert (alternatives["datatype"], alternatives["shape"]) == ("BYTES", [2, 2])
    direct = {o["name"]: o for o in v2_infer(predictor, texts, **OPTIONS).json()["outputs"]}
    assert alternatives["data"] == direct["alternatives"]["data"]
    assert outputs["score"]["data"][0] == pytest.approx(direct["score"]["data"][0], rel=1e-6)
    plain = v2_infer(via_predictor("v1"), texts)
    assert [output["name"] for output in plain.json()["outputs"]] == ["translation"]


async def test_v2_grpc_options_on_the_transformer(
    predictor: RunningPredictor, via_predictor: ViaPredictor
) -> None:
    transformer = via_predictor("grpc-v2")
    text = InferInput(name="text", shape=[2], datatype="BYTES", data=ENGLISH[1:3])
    async with InferenceGRPCClient(transformer.grpc_target, retries=0, timeout=60) as client:
        response = await client.infer(
            InferRequest(
                model_name=MODEL, infer_inputs=[text],
                parameters={"alternatives": 1, "return_scores": True},
            )
        )
    outputs = {output.name: output for output in response.outputs}
    assert [v.decode() for v in outputs["translation"].data] == SPANISH[1:3]
    assert list(outputs["alternatives"].shape) == [2, 1]
    direct = predictions(v1_predict(predictor, ENGLISH[1:3], alternatives=1, return_scores=True))
    assert [v.decode() for v in outputs["alternatives"].data] == [
        p["alternatives"][0] for p in direct
    ]
    assert list(outputs["score"].data) == pytest.approx([p["score"] for p in direct], rel=1e-6)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("alternatives", 11, "must be between 0 and 10, got 11"),
        ("alternatives", -1, "must be between 0 and 10, got -1"),
        ("alternatives", "two", "must be a whole number, got str"),
        ("return_scores", "yes", "must be true or false, got 'yes'"),
    ],
)
def test_bad_option_values_are_400s_naming_them_on_v1_and_v2(
    transformer: RunningTransformer, name: str, value: Any, problem: str
) -> None:
    v1 = v1_predict(transformer, ENGLISH[:1], **{name: value})
    assert v1.status_code == 400, v1.text
    assert v1.json() == {"error": f"parameters.{name} {problem}"}
    v2 = v2_infer(transformer, ENGLISH[:1], **{name: value})
    assert v2.status_code == 400, v2.text
    assert v2.json() == {"error": f"parameter '{name}' {problem}"}


async def test_results_without_options_over_every_predictor_protocol(
    predictor: RunningPredictor, any_protocol: str
) -> None:
    client = PredictorClient(predictor_host(predictor, any_protocol), any_protocol, MODEL, 60)
    try:
        results = await client.translate_results(ENGLISH[:2], "en", "es", PLAIN)
    finally:
        await client.aclose()
    assert results == [TextTranslation(SPANISH[0]), TextTranslation(SPANISH[1])]


# --- in process, against the recording upstream ---------------------------------------------


def echo_with_options(path: str, body: Any) -> Answer:
    """V2 like the predictor: upper-case translations, `alternatives` "<text> #k", score 0.5."""
    texts = body["inputs"][0]["data"]
    parameters = body.get("parameters", {})
    k = parameters.get("alternatives", 0)
    outputs = [{"name": "translation", "datatype": "BYTES", "shape": [len(texts)],
                "data": [t.upper() for t in texts]}]
    if parameters.get("return_scores"):
        outputs.append({"name": "score", "datatype": "FP32", "shape": [len(texts)],
                        "data": [0.5] * len(texts)})
    if k:
        outputs.append({"name": "alternatives", "datatype": "BYTES", "shape": [len(texts), k],
                        "data": [f"{t} #{i}" for t in texts for i in range(1, k + 1)]})
    return Answer(200, {"outputs": outputs})


async def test_only_calls_with_equal_options_share_a_predictor_call(
    upstream: RecordingUpstream,
) -> None:
    upstream.answer = echo_with_options
    client = CoalescingClient(
        PredictorClient(upstream.host, "v2", MODEL, timeout_s=10),
        max_texts_per_call=64, max_calls_in_flight=4,
    )
    one_alternative = TranslationOptions(alternatives=1)
    scores = TranslationOptions(return_scores=True)
    try:
        # started together, so that each group leaves in one call
        plain_a, plain_b, alt_c, alt_d, scored = await asyncio.gather(
            client.translate(["a"], "en", "es"),
            client.translate(["b"], "en", "es"),
            client.translate_results(["c"], "en", "es", one_alternative),
            client.translate_results(["d"], "en", "es", one_alternative),
            client.translate_results(["e"], "en", "es", scores),
        )
    finally:
        await client.aclose()
    assert (plain_a, plain_b) == (["A"], ["B"])
    assert [(r.translation, r.alternatives) for r in (*alt_c, *alt_d)] == [
        ("C", ("c #1",)), ("D", ("d #1",))
    ]
    assert scored[0].confidence == pytest.approx(0.5)
    calls = {
        tuple(r.body["inputs"][0]["data"]): r.body["parameters"]
        for r in upstream.infer_requests()
    }
    pair = {"source": "en", "target": "es"}
    assert calls == {
        ("a", "b"): pair,
        ("c", "d"): {**pair, "alternatives": 1},
        ("e",): {**pair, "return_scores": True},
    }


@pytest.mark.parametrize(
    ("options", "answer", "message"),
    [
        (
            TranslationOptions(return_scores=True),
            {"name": "score", "datatype": "FP32", "shape": [1], "data": [0.0]},
            "a score outside (0, 1]: 0.0",
        ),
        (
            TranslationOptions(alternatives=1),
            {"name": "alternatives", "datatype": "BYTES", "shape": [1, 1], "data": []},
            "0 values in 'alternatives' where 1 were due",
        ),
        (TranslationOptions(return_scores=True), None, "without a 'score' output"),
    ],
)
async def test_a_predictor_answer_without_what_was_asked_is_a_predictor_failure(
    upstream: RecordingUpstream, options: TranslationOptions, answer: dict | None, message: str
) -> None:
    def respond(path: str, body: Any) -> Answer:
        translation = {"name": "translation", "datatype": "BYTES", "shape": [1], "data": ["X"]}
        return Answer(200, {"outputs": [translation, *([answer] if answer else [])]})

    upstream.answer = respond
    client = PredictorClient(upstream.host, "v2", MODEL, timeout_s=10)
    try:
        with pytest.raises(PredictorFailed, match=re.escape(message)):
            await client.translate_results(["x"], "en", "es", options)
    finally:
        await client.aclose()
