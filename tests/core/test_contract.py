import re

import pytest

from argos_core.contract import TensorValues, TextItem, items_from_v1, items_from_v2
from argos_core.errors import InvalidRequest


def test_v1_strings_and_objects() -> None:
    body = {
        "instances": [
            "The cat sleeps.",
            {"text": "My city is big.", "source": "en", "target": "es"},
        ]
    }
    assert items_from_v1(body) == [
        TextItem("The cat sleeps."),
        TextItem("My city is big.", "en", "es"),
    ]


def test_v1_request_parameters_give_the_default_pair() -> None:
    body = {"instances": ["a", {"text": "b", "target": "fr"}], "parameters": {"source": "de"}}
    assert items_from_v1(body) == [TextItem("a", "de", None), TextItem("b", "de", "fr")]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({"inputs": []}, "'instances' must be a list"),
        ({"instances": "text"}, "'instances' must be a list"),
        ({"instances": [1]}, "instances[0] must be a string"),
        ({"instances": [None]}, "got null"),
        ({"instances": [{"text": 5}]}, "instances[0].text must be a string, got int"),
        ({"instances": [{"txt": "a"}]}, "instances[0].text must be a string"),
        ({"instances": [{"text": "a", "lang": "x"}]}, "unknown fields: lang"),
        ({"instances": [{"text": "a", "source": 3}]}, "source must be a language code"),
        ({"instances": ["a"], "parameters": []}, "'parameters' must be an object"),
    ],
)
def test_v1_errors_name_the_problem(body: object, message: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        items_from_v1(body)


def text_tensor(values: list, shape: list[int] | None = None, datatype: str = "BYTES"):
    return TensorValues("text", datatype, shape or [len(values)], values)


def test_v2_text_and_pair_from_parameters_or_tensors() -> None:
    items = items_from_v2([text_tensor(["a", b"b\xc3\xb1"])], {"source": "en", "target": "es"})
    assert items == [TextItem("a", "en", "es"), TextItem("bñ", "en", "es")]
    per_row = items_from_v2(
        [
            text_tensor(["a", "b"], [2, 1]),
            TensorValues("target", "BYTES", [2], [b"es", b"fr"]),
            TensorValues("source", "BYTES", [1], ["en"]),
        ],
        None,
    )
    assert per_row == [TextItem("a", "en", "es"), TextItem("b", "en", "fr")]


@pytest.mark.parametrize(
    ("tensors", "message"),
    [
        ([], "missing input tensor 'text'"),
        ([text_tensor([1.0], datatype="FP32")], "datatype BYTES, got FP32"),
        ([text_tensor(["a", "b"], [1, 2])], r"shape \[N\] or \[N, 1\]"),
        ([text_tensor(["a"], [2])], "has 1 values but shape"),
        ([text_tensor([3])], r"'text'\[0\] must be a string, got int"),
        ([text_tensor([b"\xff"])], "not valid UTF-8"),
        ([text_tensor(["a"]), TensorValues("extra", "BYTES", [1], ["x"])], "unknown inputs: extra"),
        ([text_tensor(["a"]), text_tensor(["b"])], "given twice"),
        (
            [text_tensor(["a", "b"]), TensorValues("source", "BYTES", [3], ["x", "y", "z"])],
            "must have 1 or 2 values",
        ),
    ],
)
def test_v2_errors_name_the_problem(tensors: list, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        items_from_v2(tensors, None)


def test_v2_parameter_must_be_a_string() -> None:
    with pytest.raises(InvalidRequest, match="parameter 'target' must be a language code"):
        items_from_v2([text_tensor(["a"])], {"target": 7})
