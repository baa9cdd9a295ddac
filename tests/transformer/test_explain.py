"""`POST /v1/models/translator:explain` on the transformer: forwarded to the real predictor's
`:explain` (both V1 shapes of `instances`), answered as the predictor answers it; bad inputs are
400s naming the problem, whether the transformer or the predictor finds it; with a V2 or gRPC
predictor protocol a 400 says that explanations need V1. Against the recording upstream: texts
sent whole in bounded calls, identity headers forwarded, a broken answer is a 502."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.kserve.test_explain import ENGLISH, OUT_OF_DOMAIN, assert_close
from tests.support.predictor import RunningPredictor
from tests.support.processes import RunningServer
from tests.transformer.conftest import MODEL, RunningTransformer, UpstreamTransformer
from tests.transformer.upstreams import Answer, RecordingUpstream

EXPLAIN = f"/v1/models/{MODEL}:explain"
# 46 characters: over the 40-character segments of these transformers, yet explained whole.
TWO_SENTENCES = f"{ENGLISH[0]} {ENGLISH[7]}"

ViaPredictor = Callable[[str], RunningTransformer]


def explain(server: RunningServer, body: object, **kwargs: Any) -> httpx.Response:
    return httpx.post(f"{server.base_url}{EXPLAIN}", json=body, timeout=60, **kwargs)


def explanations(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()["explanations"]


def test_explanations_are_the_predictors_own_for_both_instance_shapes(
    predictor: RunningPredictor, transformer: RunningTransformer
) -> None:
    body = {
        "instances": [
            ENGLISH[0],
            {"text": ENGLISH[3], "source": "en", "target": "es"},
            TWO_SENTENCES,
            OUT_OF_DOMAIN,
        ],
        "parameters": {"source": "en", "target": "es", "return_scores": True},
    }
    through = explanations(explain(transformer, body))
    direct = explanations(explain(predictor, body))
    assert_close(through, direct)
    dog, apples, two, out_of_domain = through
    assert dog["translation"] == "El perro pequeño duerme."
    assert any(
        a["source"]["text"] == "small" and a["target"]["text"] == "pequeño"
        for a in dog["sentences"][0]["alignments"]
    )
    assert all(0 < e["confidence"] <= 1 for e in through)
    assert out_of_domain["confidence"] < apples["confidence"]
    # sent whole: spans are offsets into the caller's text, one sentence after the other
    assert [s["source"]["text"] for s in two["sentences"]] == [ENGLISH[0], ENGLISH[7]]
    assert two["sentences"][1]["source"]["start"] == len(ENGLISH[0]) + 1


def test_strings_without_a_pair_use_the_predictors_default(
    predictor: RunningPredictor, transformer: RunningTransformer
) -> None:
    body = {"instances": ENGLISH[5:7]}
    assert_close(explanations(explain(transformer, body)), explanations(explain(predictor, body)))


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"instances": [ENGLISH[0]], "parameters": {"alternatives": 2}}, 400,
         "parameters.alternatives is not available with :explain"),
        ({"instances": [ENGLISH[0]], "parameters": {"return_scores": "yes"}}, 400,
         "parameters.return_scores must be true or false"),
        ({"instances": []}, 400, "'instances' is empty"),
        ({"instances": [42]}, 400, "instances[0] must be a string"),
        ({"instances": ["   "]}, 400, "instances[0]"),
        ({"instances": ["a"], "colour": "red"}, 400, "unknown fields in the V1 body: colour"),
        ({"text": ENGLISH[0]}, 400, "explanations take a V1 body"),
        # the predictor's 400, passed through with its message
        ({"instances": [{"text": ENGLISH[0], "target": "zz"}]}, 400,
         "unknown language pair en->zz"),
        ({"instances": ["a"] * 257}, 413, "257 texts in one request; the limit is 256"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_problem(
    transformer: RunningTransformer, body: object, status: int, message: str
) -> None:
    response = explain(transformer, body)
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_a_text_plain_body_is_a_400(transformer: RunningTransformer) -> None:
    response = httpx.post(
        f"{transformer.base_url}{EXPLAIN}", content=ENGLISH[0].encode(),
        headers={"content-type": "text/plain"}, timeout=30,
    )
    assert response.status_code == 400, response.text
    assert "explanations take a V1 body" in response.json()["error"]


@pytest.mark.parametrize("protocol", ["v2", "grpc-v2"])
def test_a_v2_predictor_protocol_is_a_400_saying_explain_needs_v1(
    via_predictor: ViaPredictor, protocol: str
) -> None:
    response = explain(via_predictor(protocol), {"instances": [ENGLISH[0]]})
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert f"over {protocol} (--predictor_protocol)" in error
    assert f"/v1/models/{MODEL}:explain" in error


# --- against the recording upstream -----------------------------------------------------------


def explain_upper(path: str, body: Any) -> Answer:
    """An explainer stand-in: each text's upper case as its translation."""
    if not path.endswith(":explain"):
        return Answer(404, {"error": f"unexpected {path}"})
    return Answer(200, {"explanations": [{"translation": t.upper()} for t in body["instances"]]})


def test_texts_go_whole_in_bounded_calls_with_identity_headers(
    upstream: RecordingUpstream, via_upstream: UpstreamTransformer
) -> None:
    upstream.answer = explain_upper
    long_text = "one two three four five six seven eight nine ten."  # over 30-character segments
    texts = [long_text, "b", "c", "d"]
    response = explain(
        via_upstream("v1"),
        {"instances": texts, "parameters": {"source": "en", "target": "es"}},
        headers={"x-request-id": "explain-1", "x-other": "kept here"},
    )
    assert explanations(response) == [{"translation": t.upper()} for t in texts]
    assert "x-other" not in response.headers  # the answer's own headers, not the request's
    calls = upstream.infer_requests()
    assert [call.path for call in calls] == [EXPLAIN, EXPLAIN]  # --texts_per_call 3
    # the two calls run concurrently: either may arrive first
    assert sorted(call.body["instances"] for call in calls) == sorted([texts[:3], texts[3:]])
    assert all(call.body["parameters"] == {"source": "en", "target": "es"} for call in calls)
    assert all(call.headers.get("x-request-id") == "explain-1" for call in calls)
    assert all("x-other" not in call.headers for call in calls)


@pytest.mark.parametrize(
    ("answer", "status", "message"),
    [
        (Answer(200, {"explanations": []}), 502, "0 explanations for 1 texts"),
        (Answer(200, {"explanations": ["x"]}), 502, "an explanation that is not an object"),
        (Answer(200, {"predictions": ["x"]}), 502, "no list of explanations for 1 texts"),
        (Answer(422, {"error": "no such thing"}), 422, "no such thing"),
        (Answer(500, {"error": "boom"}), 502, "predictor failed with HTTP 500: boom"),
    ],
)
def test_predictor_answers_are_mapped_as_for_predict(
    upstream: RecordingUpstream, via_upstream: UpstreamTransformer, answer: Answer, status: int,
    message: str,
) -> None:
    upstream.answer = lambda path, body: answer
    response = explain(via_upstream("v1"), {"instances": ["a"]})
    assert response.status_code == status, response.text
    assert message in response.json()["error"]
