"""Options on predictor calls: the request parameters that ask for them, and the answers that
carry them, read into `TextTranslation`s.

V1: each prediction is an object `{"translation", "alternatives"?, "score"?}`. V2 (REST and
gRPC): outputs `translation` ([N]), `alternatives` (BYTES, [N, k], flat in row-major order) and
`score` (FP32, [N]). A score is the confidence in (0, 1]; it is kept as its logarithm, as
`TextTranslation` has it. Anything else is the predictor's fault: `PredictorFailed`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from argos_protocol import TextTranslation, TranslationOptions
from argos_protocol.options import ALTERNATIVES, RETURN_SCORES
from argos_protocol.v2 import ALTERNATIVES_OUTPUT, SCORE_OUTPUT, TRANSLATION_OUTPUT
from argos_transformer.errors import PredictorFailed


def parameters(options: TranslationOptions) -> dict[str, int | bool]:
    """The request parameters that ask the predictor for `options`."""
    asked: dict[str, int | bool] = {}
    if options.alternatives:
        asked[ALTERNATIVES] = options.alternatives
    if options.return_scores:
        asked[RETURN_SCORES] = True
    return asked


def from_v1_predictions(
    predictions: Any, count: int, options: TranslationOptions
) -> list[TextTranslation]:
    if not isinstance(predictions, list) or len(predictions) != count:
        got = len(predictions) if isinstance(predictions, list) else "no list of"
        raise PredictorFailed(f"predictor answered {got} predictions for {count} texts")
    results = []
    for prediction in predictions:
        if options.plain and isinstance(prediction, str):  # nothing asked: plain predictions
            results.append(TextTranslation(prediction))
        elif not isinstance(prediction, dict):
            raise PredictorFailed(
                "predictor answered a prediction that is not an object although options "
                "were asked for (does it support 'alternatives' and 'return_scores'?)"
            )
        else:
            results.append(
                _result(
                    prediction.get("translation"),
                    prediction.get("alternatives", []) if options.alternatives else [],
                    prediction.get("score") if options.return_scores else None,
                    options,
                )
            )
    return results


def from_v2_outputs(
    outputs: Mapping[str, Sequence[Any]], count: int, options: TranslationOptions
) -> list[TextTranslation]:
    """`outputs`: each output's name and flat values (BYTES already decoded to str)."""
    translations = _output(outputs, TRANSLATION_OUTPUT, count)
    k = options.alternatives
    alternatives = _output(outputs, ALTERNATIVES_OUTPUT, count * k) if k else []
    scores = _output(outputs, SCORE_OUTPUT, count) if options.return_scores else None
    return [
        _result(
            translations[index],
            alternatives[index * k : (index + 1) * k],
            scores[index] if scores is not None else None,
            options,
        )
        for index in range(count)
    ]


def _output(outputs: Mapping[str, Sequence[Any]], name: str, expected: int) -> Sequence[Any]:
    values = outputs.get(name)
    if values is None:
        raise PredictorFailed(f"predictor answered without a '{name}' output")
    if len(values) != expected:
        raise PredictorFailed(
            f"predictor answered {len(values)} values in '{name}' where {expected} were due"
        )
    return values


def _result(
    translation: Any, alternatives: Any, score: Any, options: TranslationOptions
) -> TextTranslation:
    if not isinstance(translation, str):
        raise PredictorFailed("predictor answered a translation that is not a string")
    if (
        not isinstance(alternatives, list | tuple)
        or len(alternatives) != options.alternatives
        or not all(isinstance(text, str) for text in alternatives)
    ):
        raise PredictorFailed(
            f"predictor answered alternatives other than {options.alternatives} strings per text"
        )
    log_probability = None
    if options.return_scores:
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0 < score <= 1:
            raise PredictorFailed(f"predictor answered a score outside (0, 1]: {score!r:.32}")
        log_probability = math.log(score)
    return TextTranslation(translation, tuple(alternatives), log_probability)
