"""Explanations (`:explain`): per text, the translation, how sure the model was, and which
source words produced which target words.

V1 `POST /v1/models/<name>:explain` takes the body of `:predict` (`instances` as strings or
`{text, source, target}` objects, `parameters.source`/`target`) and answers
`{"explanations": [...]}`, one per instance, in order:

    {"translation": "El perro pequeño duerme.",
     "log_probability": -0.104, "confidence": 0.901,
     "sentences": [{"source": {"start": 0, "end": 21, "text": "The small dog sleeps."},
                    "translation": {"start": 0, "end": 24, "text": "El perro pequeño duerme."},
                    "log_probability": -0.104, "confidence": 0.901,
                    "alignments": [{"source": {"start": 14, "end": 20, "text": "sleeps"},
                                    "target": {"start": 17, "end": 23, "text": "duerme"},
                                    "weight": 0.998}, ...]}],
     "pivots": ["en"]}                                       (only when the pair pivots)

- `log_probability` is the mean log-probability of the translation's tokens (CTranslate2's
  length-normalised score; a text's is its sentences' mean weighted by their tokens, and a
  pivoted sentence's is the sum of its hops'); `confidence` is its exp, in (0, 1]. A text with
  nothing to translate has 0 and 1.
- Spans are character offsets (Python string indexes, `end` exclusive) into the instance's text
  and into its translation, for sentences and for words alike.
- An alignment says how much of a target word's attention went to a source word (0-1; a target
  word's weights add up to at most 1); only weights of at least `MIN_WEIGHT` are listed, by
  target word in order, heaviest source word first. How words and weights come from the
  model's sub-word attention is the core's rule (`argos_core.alignment`).

`alternatives` is refused (an explanation is of the best translation); `return_scores` is
accepted and changes nothing, scores are always there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from argos_protocol import fields
from argos_protocol.errors import InvalidRequest
from argos_protocol.fields import TextRule
from argos_protocol.options import ALTERNATIVES, TranslationOptions
from argos_protocol.request import TranslationRequest
from argos_protocol.v1 import parse_v1

EXPLANATIONS = "explanations"
MIN_WEIGHT = 0.1


@dataclass(frozen=True)
class Span:
    """A piece of a text: characters `start` to `end` (exclusive), and those characters."""

    start: int
    end: int
    text: str

    def shifted(self, offset: int) -> Span:
        return Span(self.start + offset, self.end + offset, self.text)


@dataclass(frozen=True)
class WordAlignment:
    source: Span
    target: Span
    weight: float

    def shifted(self, source_offset: int, target_offset: int) -> WordAlignment:
        return WordAlignment(
            self.source.shifted(source_offset), self.target.shifted(target_offset), self.weight
        )


@dataclass(frozen=True)
class SentenceExplanation:
    source: Span
    translation: Span
    log_probability: float
    alignments: tuple[WordAlignment, ...]

    @property
    def confidence(self) -> float:
        return math.exp(self.log_probability)


@dataclass(frozen=True)
class TextExplanation:
    translation: str
    log_probability: float
    sentences: tuple[SentenceExplanation, ...]
    pivots: tuple[str, ...] = ()  # languages the text passed through, e.g. ("en",)

    @property
    def confidence(self) -> float:
        return math.exp(self.log_probability)


def parse_explain_v1(body: Any, text_rule: TextRule = fields.text) -> TranslationRequest:
    """A V1 `:explain` body: the rules of `:predict`, without `alternatives`."""
    request = parse_v1(body, text_rule)
    check_explain_options(request.options)
    return request


def check_explain_options(options: TranslationOptions) -> None:
    """The options of an explain request (read by `parse_v1`) are ones it can honour."""
    if options.alternatives:
        raise InvalidRequest(
            f"parameters.{ALTERNATIVES} is not available with :explain, which explains the "
            "best translation; ask :predict for alternatives"
        )


def v1_explanations(results: Sequence[TextExplanation]) -> dict[str, list[dict[str, Any]]]:
    return {EXPLANATIONS: [text_explanation(result) for result in results]}


def text_explanation(result: TextExplanation) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "translation": result.translation,
        **_score(result.log_probability),
        "sentences": [_sentence(sentence) for sentence in result.sentences],
    }
    if result.pivots:
        answer["pivots"] = list(result.pivots)
    return answer


def _sentence(sentence: SentenceExplanation) -> dict[str, Any]:
    return {
        "source": _span(sentence.source),
        "translation": _span(sentence.translation),
        **_score(sentence.log_probability),
        "alignments": [
            {
                "source": _span(a.source),
                "target": _span(a.target),
                "weight": round(a.weight, 4),
            }
            for a in sentence.alignments
        ],
    }


def _score(log_probability: float) -> dict[str, float]:
    return {"log_probability": log_probability, "confidence": math.exp(log_probability)}


def _span(span: Span) -> dict[str, Any]:
    return {"start": span.start, "end": span.end, "text": span.text}
