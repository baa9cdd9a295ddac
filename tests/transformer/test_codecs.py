"""Request decoding into one TranslationJob, and the errors for bad input (pure functions)."""

from __future__ import annotations

import pytest
from kserve.protocol.infer_type import InferInput, InferRequest

from argos_protocol import TextTranslation
from argos_transformer.codecs.job import ReplyShape, TranslationJob
from argos_transformer.codecs.libretranslate import decode_libre, encode_libre
from argos_transformer.codecs.records import decode_document, decode_record_value
from argos_transformer.codecs.v2 import decode_v2
from argos_transformer.errors import InputTooLarge, InvalidInput
from argos_transformer.languages import LanguageCatalog


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            b'{"text": "Hello.", "source": "en", "target": "es", "id": "r-1"}',
            TranslationJob(("Hello.",), "en", "es", "r-1", ReplyShape.RECORD),
        ),
        (b'{"text": "Hi", "id": 42}', TranslationJob(("Hi",), id="42", shape=ReplyShape.RECORD)),
        (b"plain text, {not json}", TranslationJob(("plain text, {not json}",),
                                                   shape=ReplyShape.RECORD)),
        (b'"a JSON string"', TranslationJob(("a JSON string",), shape=ReplyShape.RECORD)),
        (
            b'{"instances": ["a", "b"], "parameters": {"target": "es"}}',
            TranslationJob(("a", "b"), None, "es", shape=ReplyShape.V1),
        ),
        (b'["x", "y"]', TranslationJob(("x", "y"), shape=ReplyShape.V1)),
    ],
)
def test_record_values(value: bytes, expected: TranslationJob) -> None:
    assert decode_record_value(value) == expected


def test_record_id_falls_back_to_the_coordinates() -> None:
    assert decode_record_value(b"text", record_id="t-0-7").id == "t-0-7"
    assert decode_record_value(b'{"text": "x", "id": "own"}', record_id="t-0-7").id == "own"


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (b"", InvalidInput, "empty"),
        (b"  \n", InvalidInput, "empty"),
        (b"\xff", InvalidInput, "not valid UTF-8"),
        (b'{"text": "unterminated', InvalidInput, "not valid JSON"),
        (b'{"txt": "typo"}', InvalidInput, "got an object with fields: txt"),
        (b'{"text": 5}', InvalidInput, "text must be a string, got int"),
        (b'{"text": "  "}', InvalidInput, "text is empty"),
        (b'{"text": "x", "target": 7}', InvalidInput, "target must be a language code"),
        (b'{"text": "x", "colour": "red"}', InvalidInput, "unknown fields in record: colour"),
        (b'{"instances": "not a list"}', InvalidInput, "'instances' must be a list"),
        (b'{"instances": []}', InvalidInput, "'instances' is empty"),
        (b"x" * 2000, InputTooLarge, "2000 bytes; the limit is 1000"),
    ],
)
def test_bad_record_values(value: bytes, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message) as caught:
        decode_record_value(value, max_bytes=1000)
    assert not caught.value.transient
    assert 400 <= caught.value.status < 500


def test_v1_instances_with_their_own_pairs() -> None:
    job = decode_document(
        {"instances": ["a", {"text": "b", "target": "fr"}], "parameters": {"source": "en"}}
    )
    assert job.pairs == (("en", None), ("en", "fr"))
    assert list(job.items()) == [("a", "en", None), ("b", "en", "fr")]


def v2_request(*inputs: InferInput, **parameters: str) -> InferRequest:
    return InferRequest("translator", infer_inputs=list(inputs), parameters=parameters or None)


def test_v2_text_with_parameters_and_per_row_pairs() -> None:
    text = InferInput("text", [2, 1], "BYTES", [["a"], ["b"]])
    target = InferInput("target", [2], "BYTES", ["es", "fr"])
    job = decode_v2(v2_request(text, target, source="en"))
    assert job.texts == ("a", "b")
    assert job.pairs == (("en", "es"), ("en", "fr"))


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([InferInput("text", [1], "INT32", [1])], "datatype BYTES, got INT32"),
        ([InferInput("text", [1, 2], "BYTES", [["a", "b"]])], r"shape \[N\] or \[N, 1\]"),
        ([InferInput("text", [3], "BYTES", ["a"])], "has 1 values but shape"),
        ([InferInput("words", [1], "BYTES", ["a"])], "unknown inputs: words"),
        ([InferInput("source", [1], "BYTES", ["en"])], "missing input tensor 'text'"),
        (
            [InferInput("text", [2], "BYTES", ["a", "b"]),
             InferInput("target", [3], "BYTES", ["x", "y", "z"])],
            "must have 1 or 2 values",
        ),
    ],
)
def test_bad_v2_requests(inputs: list[InferInput], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode_v2(v2_request(*inputs))


CATALOG = LanguageCatalog.parse("en:es,es:en,en:fr,fr:en")


def test_libretranslate_string_list_auto_and_alternatives() -> None:
    single = decode_libre({"q": "Hi", "source": "en", "target": "es", "api_key": "ignored"})
    assert (single.texts, single.source, single.many, single.html) == (("Hi",), "en", False, False)
    many = decode_libre(
        {"q": ["a", "b"], "source": "auto", "target": "fr", "format": "html", "alternatives": "2"}
    )
    assert (many.texts, many.source, many.many, many.html) == (("a", "b"), None, True, True)
    assert many.job("en").options.alternatives == 2
    assert encode_libre(single, [TextTranslation("x")]) == {"translatedText": "x"}
    pair = [TextTranslation("x", ("y", "x", "y", "")), TextTranslation("z", ("w", "v"))]
    detected = {"confidence": 90.0, "language": "en"}
    assert encode_libre(many, pair, detected) == {
        "translatedText": ["x", "z"],
        "alternatives": [["y"], ["w", "v"]],  # each once, never the translation or empty
        "detectedLanguage": [detected, detected],
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"source": "en", "target": "es"}, "missing q parameter"),
        ({"q": "x", "target": "es"}, "missing source parameter"),
        ({"q": "x", "source": "en"}, "missing target parameter"),
        (
            {"q": "x", "source": "en", "target": "es", "format": "xml"},
            "format 'xml' is not supported; use one of: text, html",
        ),
        ({"q": ["x", 3], "source": "en", "target": "es"}, r"q\[1\] must be a string"),
        ({"q": "x", "source": "en", "target": "es", "alternatives": -1},
         "alternatives parameter must be between 0 and 10, got -1"),
        ({"q": "x", "source": "en", "target": "es", "alternatives": "11"},
         "alternatives parameter must be between 0 and 10, got 11"),
        ({"q": "x", "source": "en", "target": "es", "alternatives": "two"},
         "alternatives parameter is not a whole number: 'two'"),
        ({"q": "x", "source": "en", "target": "es", "alternatives": 1.5},
         "alternatives parameter is not a whole number: 1.5"),
    ],
)
def test_bad_libretranslate_requests(params: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        decode_libre(params)


def test_languages_lists_targets_per_source() -> None:
    assert CATALOG.languages() == [
        {"code": "en", "name": "English", "targets": ["es", "fr"]},
        {"code": "es", "name": "Spanish", "targets": ["en"]},
        {"code": "fr", "name": "French", "targets": ["en"]},
    ]
    with pytest.raises(ValueError, match="not source:target"):
        LanguageCatalog.parse("en")
