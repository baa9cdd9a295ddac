"""The request rules of `argos_protocol`, which every server and the transformer apply."""

import re
import struct

import pytest

from argos_protocol import InvalidRequest, TensorValues, TextItem, parse_v1, parse_v2
from argos_protocol.fields import language_code, nonblank_text
from argos_protocol.v2 import decode_bytes, flatten


def items_v1(body: object) -> list[TextItem]:
    return list(parse_v1(body).items)


def items_v2(tensors: list, parameters: dict | None) -> list[TextItem]:
    return list(parse_v2(tensors, parameters).items)


def test_v1_strings_and_objects() -> None:
    body = {
        "instances": [
            "The cat sleeps.",
            {"text": "My city is big.", "source": "en", "target": "es"},
        ]
    }
    assert items_v1(body) == [
        TextItem("The cat sleeps."),
        TextItem("My city is big.", "en", "es"),
    ]


def test_v1_request_parameters_give_the_default_pair() -> None:
    body = {"instances": ["a", {"text": "b", "target": "fr"}], "parameters": {"source": "de"}}
    assert items_v1(body) == [TextItem("a", "de", None), TextItem("b", "de", "fr")]


def test_v1_pair_and_id_at_the_top_of_the_body() -> None:
    request = parse_v1({"instances": ["a"], "source": "en", "target": "es", "id": 7})
    assert request.items == (TextItem("a", "en", "es"),)
    assert request.id == "7"
    overridden = parse_v1({"instances": ["a"], "target": "fr", "parameters": {"target": "es"}})
    assert overridden.items == (TextItem("a", None, "es"),)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({"inputs": []}, "'instances' must be a list"),
        ({"instances": "text"}, "'instances' must be a list"),
        ({"instances": [1]}, "instances[0] must be a string"),
        ({"instances": [None]}, "got null"),
        ({"instances": [{"text": 5}]}, "instances[0].text must be a string, got int"),
        ({"instances": [{"txt": "a"}]}, "instances[0] has unknown fields: txt"),
        ({"instances": [{"source": "en"}]}, "instances[0].text must be a string, got null"),
        ({"instances": [{"text": "a", "lang": "x"}]}, "unknown fields: lang"),
        ({"instances": [{"text": "a", "source": 3}]}, "source must be a language code"),
        ({"instances": ["a"], "parameters": []}, "'parameters' must be an object"),
        ({"instances": ["a"], "signature_name": "x"}, "unknown fields in the V1 body"),
        ({"instances": ["a"], "id": [1]}, "id must be a string or an integer"),
    ],
)
def test_v1_errors_name_the_problem(body: object, message: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        parse_v1(body)


def text_tensor(values: list, shape: list[int] | None = None, datatype: str = "BYTES"):
    return TensorValues("text", datatype, shape or [len(values)], values)


def test_v2_text_and_pair_from_parameters_or_tensors() -> None:
    items = items_v2([text_tensor(["a", b"b\xc3\xb1"])], {"source": "en", "target": "es"})
    assert items == [TextItem("a", "en", "es"), TextItem("bñ", "en", "es")]
    per_row = items_v2(
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
        parse_v2(tensors, None)


def test_v2_parameter_must_be_a_string() -> None:
    with pytest.raises(InvalidRequest, match="parameter 'target' must be a language code"):
        parse_v2([text_tensor(["a"])], {"target": 7})


def test_tensor_values_flatten_nested_rows_and_decode_the_binary_layout() -> None:
    assert flatten([["a"], ["b"]]) == ["a", "b"]
    raw = b"".join(struct.pack("<I", len(v)) + v for v in (b"uno", b"", "dós".encode()))
    tensor = TensorValues.of("text", "BYTES", [3], None, raw)
    assert tensor.values == [b"uno", b"", "dós".encode()]
    assert items_v2([tensor], None)[2].text == "dós"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\x05\x00", "truncated in the length of element 0"),
        (struct.pack("<I", 9) + b"abc", "truncated in element 0 (9 bytes announced, 3 left)"),
    ],
)
def test_truncated_binary_tensors_are_refused(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        decode_bytes(raw, "text")


def test_tensor_data_must_be_a_list() -> None:
    with pytest.raises(InvalidRequest, match="input 'text' data must be a list, got str"):
        TensorValues.of("text", "BYTES", [1], "abc")


@pytest.mark.parametrize("code", ["en", "pt-BR", "zh_Hant", " es "])
def test_language_codes(code: str) -> None:
    assert language_code(code, "source") == code.strip()


@pytest.mark.parametrize("code", ["e s", "ü", "en;drop", "x" * 17, "  "])
def test_bad_language_codes_are_refused(code: str) -> None:
    with pytest.raises(InvalidRequest, match="source is not a language code"):
        language_code(code, "source")


def test_blank_texts_pass_the_server_rule_but_not_the_front_door_rule() -> None:
    assert items_v1({"instances": ["", "  "]}) == [TextItem(""), TextItem("  ")]
    with pytest.raises(InvalidRequest, match=re.escape("instances[1] is empty")):
        parse_v1({"instances": ["ok", "  "]}, nonblank_text)
