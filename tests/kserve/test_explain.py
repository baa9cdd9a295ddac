"""`POST /v1/models/translator:explain` on the real KServe predictor: explanations for both V1
shapes, the same 400s as `:predict`, only the answer's own headers, and concurrent explains
batched together."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import DEMO_EXAMPLES
from tests.support.metrics import metric_value
from tests.support.predictor import RunningPredictor
from tests.support.processes import REPO_ROOT

EXPLAIN = "/v1/models/translator:explain"
PREDICT = "/v1/models/translator:predict"
ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]
OUT_OF_DOMAIN = "Quantum chromodynamics describes gluons."


def explain(predictor: RunningPredictor, body: object) -> httpx.Response:
    return httpx.post(f"{predictor.base_url}{EXPLAIN}", json=body, timeout=60)


def links(explanation: dict) -> dict[str, str]:
    """Target word -> its heaviest source word."""
    found: dict[str, str] = {}
    for sentence in explanation["sentences"]:
        for alignment in sentence["alignments"]:
            found.setdefault(alignment["target"]["text"], alignment["source"]["text"])
    return found


def test_explains_both_instance_shapes(predictor: RunningPredictor) -> None:
    body = {
        "instances": [
            "The small dog sleeps.",
            {"text": "My friends buy the red apples.", "source": "en", "target": "es"},
        ],
        "parameters": {"source": "en"},
    }
    response = explain(predictor, body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    dog, apples = response.json()["explanations"]
    assert dog["translation"] == "El perro pequeño duerme."
    assert apples["translation"] == "Mis amigos compran las manzanas rojas."
    assert {"perro": "dog", "pequeño": "small"}.items() <= links(dog).items()
    assert {"manzanas": "apples", "rojas": "red"}.items() <= links(apples).items()
    (sentence,) = dog["sentences"]
    assert sentence["source"] == {"start": 0, "end": 21, "text": "The small dog sleeps."}
    small = next(a for a in sentence["alignments"] if a["target"]["text"] == "pequeño")
    assert small["source"] == {"start": 4, "end": 9, "text": "small"}
    assert small["target"] == {"start": 9, "end": 16, "text": "pequeño"}
    assert 0.5 < small["weight"] <= 1


def test_the_documented_example_is_what_the_server_answers(predictor: RunningPredictor) -> None:
    docs = (REPO_ROOT / "docs" / "explain.md").read_text()
    documented = json.loads(re.search(r"```json\n(.*?)```", docs, re.S).group(1))
    answered = explain(predictor, {"instances": ["The small dog sleeps."]}).json()
    assert_close(answered, documented)


def assert_close(answered: object, documented: object, where: str = "answer") -> None:
    """Equal, floats within the documented rounding."""
    if isinstance(documented, float):
        assert answered == pytest.approx(documented, abs=2e-4), where
    elif isinstance(documented, dict):
        assert isinstance(answered, dict) and answered.keys() == documented.keys(), where
        for name, value in documented.items():
            assert_close(answered[name], value, f"{where}.{name}")
    elif isinstance(documented, list):
        assert isinstance(answered, list) and len(answered) == len(documented), where
        for index, value in enumerate(documented):
            assert_close(answered[index], value, f"{where}[{index}]")
    else:
        assert answered == documented, where


def test_explanations_agree_with_predict(predictor: RunningPredictor) -> None:
    texts = [*ENGLISH, OUT_OF_DOMAIN, "The small dog sleeps. My city is big."]
    explained = explain(predictor, {"instances": texts}).json()["explanations"]
    predicted = httpx.post(
        f"{predictor.base_url}{PREDICT}",
        json={"instances": texts, "parameters": {"return_scores": True}},
        timeout=60,
    ).json()["predictions"]
    assert [e["translation"] for e in explained] == [p["translation"] for p in predicted]
    assert [e["confidence"] for e in explained] == pytest.approx([p["score"] for p in predicted])
    *in_domain, out_of_domain, two = explained
    assert out_of_domain["confidence"] < min(e["confidence"] for e in in_domain)
    assert [s["source"]["text"] for s in two["sentences"]] == [
        "The small dog sleeps.",
        "My city is big.",
    ]
    assert two["sentences"][1]["source"]["start"] == len("The small dog sleeps. ")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instances": "The cat sleeps."}, "instances"),  # KServe's own check, as for predict
        ({"instances": [42]}, "instances[0] must be a string"),
        ({"instances": [{"text": "a", "target": "zz"}]}, "unknown language pair en->zz"),
        ({"instances": ["a"] * 257}, "too many texts: 257"),
        ({"instances": ["a" * 10_001]}, "too long: 10001 characters"),
        ({"instances": ["a"], "parameters": {"alternatives": 2}}, "not available with :explain"),
        ({"instances": ["a"], "colour": "red"}, "unknown fields in the V1 body: colour"),
        ({"inputs": [{"name": "text"}]}, "the body has fields: inputs"),
    ],
)
def test_bad_input_is_a_400_naming_the_problem(
    predictor: RunningPredictor, body: object, message: str
) -> None:
    response = explain(predictor, body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        (None, "Unrecognized request format"),  # KServe reads an unlabelled body as JSON
        ("text/plain", "request body is not valid JSON"),
    ],
)
def test_a_body_that_is_not_json_is_a_400(
    predictor: RunningPredictor, content_type: str | None, message: str
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    response = httpx.post(
        f"{predictor.base_url}{EXPLAIN}", content=b"{not json", headers=headers, timeout=30
    )
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_the_answer_carries_its_own_headers_only(predictor: RunningPredictor) -> None:
    """A chunked request with a form Content-Type (as `curl -d` sends): KServe would echo both
    into the answer, next to its Content-Length."""

    def chunks() -> Iterator[bytes]:
        yield b'{"instances": '
        yield b'["My city is big."]}'

    response = httpx.post(
        f"{predictor.base_url}{EXPLAIN}",
        content=chunks(),
        headers={"content-type": "application/x-www-form-urlencoded", "x-echo": "no"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert "x-echo" not in response.headers and "transfer-encoding" not in response.headers
    assert response.json()["explanations"][0]["translation"] == "Mi ciudad es grande."


def batch_histogram(base_url: str) -> dict[str, float]:
    text = httpx.get(f"{base_url}/metrics").text
    return {
        kind: metric_value(text, f"argos_batch_size_sentences_{kind}", pair="en-es")
        for kind in ("count", "sum")
    }


async def test_concurrent_explains_are_batched_together(predictor: RunningPredictor) -> None:
    before = batch_histogram(predictor.base_url)
    url = f"{predictor.base_url}{EXPLAIN}"
    async with httpx.AsyncClient(timeout=60) as client:
        responses = await asyncio.gather(
            *(client.post(url, json={"instances": [ENGLISH[i % 8]]}) for i in range(32))
        )
    explained = [r.json()["explanations"][0] for r in responses]
    assert [e["translation"] for e in explained] == [SPANISH[i % 8] for i in range(32)]
    assert all(e["sentences"][0]["alignments"] for e in explained)
    after = batch_histogram(predictor.base_url)
    sentences, batches = after["sum"] - before["sum"], after["count"] - before["count"]
    assert sentences == 32
    assert batches < 32, f"{batches} batches for 32 concurrent explains: nothing was batched"
    assert "request_explain_seconds" in httpx.get(f"{predictor.base_url}/metrics").text
