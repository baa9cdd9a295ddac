"""LibreTranslate's request and answer shapes (as LibreTranslate 1.9 has them).

`POST /translate`: `q` (a string, or a list: then every answer field is a list, one entry per
text), `source` (a language code or `"auto"`), `target`, `format` (`text` or `html`),
`alternatives` (0-10), `api_key` (accepted, ignored) -> `{"translatedText", "alternatives"?
(when asked for), "detectedLanguage"? (when the source was `auto`: {"confidence": 0-100,
"language"})}`. `POST /detect`: `q` -> `[{"confidence", "language"}, ...]`, best first.
Errors are `{"error": message}`.

Beyond LibreTranslate: `return_scores` (true/false, the V1/V2 parameter of the same name) adds
`"score"`, the model's confidence in each translation (0-1, as V1's `score`). LibreTranslate's
clients ignore a field they do not know; without `return_scores` the answer is LibreTranslate's
exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from argos_protocol import TextTranslation, TranslationOptions, fields
from argos_protocol.options import MAX_ALTERNATIVES, RETURN_SCORES
from argos_transformer.codecs.job import ReplyShape, TranslationJob
from argos_transformer.errors import InvalidInput, protocol_errors

FORMATS = ("text", "html")
AUTO = "auto"


@dataclass(frozen=True)
class LibreRequest:
    texts: tuple[str, ...]
    source: str | None  # None: "auto", to be detected
    target: str
    many: bool  # q was a list: answer with lists
    html: bool
    alternatives: int
    scores: bool = False

    def job(self, source: str | None) -> TranslationJob:
        """The texts as a job from `source` (the given or the detected one)."""
        return TranslationJob(
            self.texts, source, self.target, shape=ReplyShape.V1,
            options=TranslationOptions(alternatives=self.alternatives, return_scores=self.scores),
        )


@protocol_errors()
def decode_libre(params: Mapping[str, Any]) -> LibreRequest:
    texts, many = decode_q(params)
    for name in ("source", "target"):
        if not params.get(name):
            raise InvalidInput(f"Invalid request: missing {name} parameter")
    text_format = params.get("format") or "text"
    if text_format not in FORMATS:
        raise InvalidInput(
            f"Invalid request: format {str(text_format)[:32]!r} is not supported; use one of: "
            + ", ".join(FORMATS)
        )
    target = fields.language_code(params["target"], "target")
    assert target is not None  # checked present above
    source = None if params["source"] == AUTO else fields.language_code(params["source"], "source")
    scores = _return_scores(params)
    if scores and text_format == "html":
        raise InvalidInput(
            f"Invalid request: {RETURN_SCORES} is not available with format html, whose texts "
            "are translated piece by piece; use format text"
        )
    return LibreRequest(
        texts, source, target, many, text_format == "html", _alternatives(params), scores
    )


@protocol_errors()
def decode_q(params: Mapping[str, Any]) -> tuple[tuple[str, ...], bool]:
    """The texts of `q`, and whether it was a list."""
    q = params.get("q")
    if q is None or q == "" or q == []:
        raise InvalidInput("Invalid request: missing q parameter")
    many = isinstance(q, list)
    values: Sequence[Any] = q if many else [q]
    texts = tuple(
        fields.nonblank_text(value, f"q[{index}]" if many else "q")
        for index, value in enumerate(values)
    )
    return texts, many


def _alternatives(params: Mapping[str, Any]) -> int:
    """`alternatives`: a whole number (a form gives it as a string), 0 when absent."""
    value = params.get("alternatives")
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(
            f"Invalid request: alternatives parameter is not a whole number: {value!r:.32}"
        )
    if not 0 <= value <= MAX_ALTERNATIVES:
        raise InvalidInput(
            f"Invalid request: alternatives parameter must be between 0 and "
            f"{MAX_ALTERNATIVES}, got {value}"
        )
    return value


def _return_scores(params: Mapping[str, Any]) -> bool:
    """`return_scores`: a boolean (a form gives it as "true"/"false"), false when absent."""
    value = params.get(RETURN_SCORES)
    if value is None or value == "":
        return False
    return fields.boolean(value, f"Invalid request: {RETURN_SCORES} parameter")


def encode_libre(
    request: LibreRequest,
    results: Sequence[TextTranslation],
    detected: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The answer: `alternatives` when asked for (other translations, each once, never the
    translation itself: as LibreTranslate filters them), `score` when asked for,
    `detectedLanguage` when detected."""
    translated = [result.translation for result in results]
    answer: dict[str, Any] = {"translatedText": translated if request.many else translated[0]}
    if request.alternatives:
        alternatives = [_distinct(result) for result in results]
        answer["alternatives"] = alternatives if request.many else alternatives[0]
    if request.scores:
        scores = [result.confidence for result in results]
        answer["score"] = scores if request.many else scores[0]
    if detected is not None:
        answer["detectedLanguage"] = [detected] * len(results) if request.many else detected
    return answer


def _distinct(result: TextTranslation) -> list[str]:
    seen = {result.translation, ""}
    distinct = []
    for text in result.alternatives:
        if text not in seen:
            seen.add(text)
            distinct.append(text)
    return distinct
