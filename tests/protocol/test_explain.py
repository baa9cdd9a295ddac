"""The `:explain` contract of `argos_protocol.explain`: the request rules (those of V1
`:predict`, without alternatives) and the V1 answer's shape."""

from __future__ import annotations

import json
import math
import re

import pytest

from argos_protocol import InvalidRequest, TextItem
from argos_protocol.explain import (
    SentenceExplanation,
    Span,
    TextExplanation,
    WordAlignment,
    parse_explain_v1,
    v1_explanations,
)


def test_both_v1_shapes_and_parameters() -> None:
    request = parse_explain_v1(
        {
            "instances": ["The cat sleeps.", {"text": "My city is big.", "target": "es"}],
            "parameters": {"source": "en", "return_scores": True},
        }
    )
    assert request.items == (
        TextItem("The cat sleeps.", "en", None),
        TextItem("My city is big.", "en", "es"),
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instances": ["a"], "parameters": {"alternatives": 2}}, "alternatives is not available"),
        ({"instances": ["a"], "parameters": {"alternatives": 99}}, "between 0 and 10"),
        ({"instances": "a"}, "'instances' must be a list"),
        ({"inputs": []}, "the body has fields: inputs"),
        ({"instances": [3]}, "instances[0] must be a string"),
        ({"instances": ["a"], "parameters": {"source": "e n"}}, "not a language code"),
        ([], "must be a JSON object"),
    ],
)
def test_bad_requests_name_the_problem(body: object, message: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        parse_explain_v1(body)


def test_the_v1_answer() -> None:
    dog = WordAlignment(Span(10, 13, "dog"), Span(3, 8, "perro"), 0.99996)
    explained = TextExplanation(
        "El perro duerme.",
        -0.25,
        (
            SentenceExplanation(
                Span(0, 21, "The small dog sleeps."), Span(0, 16, "El perro duerme."), -0.25, (dog,)
            ),
        ),
        ("en",),
    )
    answer = json.loads(json.dumps(v1_explanations([explained, TextExplanation("", 0.0, ())])))
    first, empty = answer["explanations"]
    assert first["translation"] == "El perro duerme."
    assert first["confidence"] == pytest.approx(math.exp(-0.25))
    assert first["log_probability"] == -0.25
    assert first["pivots"] == ["en"]
    (sentence,) = first["sentences"]
    assert sentence["source"] == {"start": 0, "end": 21, "text": "The small dog sleeps."}
    assert sentence["alignments"] == [
        {
            "source": {"start": 10, "end": 13, "text": "dog"},
            "target": {"start": 3, "end": 8, "text": "perro"},
            "weight": 1.0,
        }
    ]
    assert empty == {"translation": "", "log_probability": 0.0, "confidence": 1.0, "sentences": []}
