"""KServe V1: `{"instances": [...], "parameters"?: {"source", "target", "alternatives",
"return_scores"}}` -> `{"predictions"}`, read and answered by `argos_protocol` (as the predictor
does) with the transformer's stricter text rule (no blank texts, at least one text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from argos_protocol import PLAIN, TextTranslation, TranslationOptions, fields, parse_v1, v1_response
from argos_protocol.v1 import INSTANCES, parse_instances
from argos_transformer.codecs.job import ReplyShape, TranslationJob
from argos_transformer.errors import InvalidInput, protocol_errors


@protocol_errors()
def decode_v1(body: Mapping[str, Any]) -> TranslationJob:
    request = parse_v1(body, fields.nonblank_text)
    return _job(request.items, request.id, request.options)


@protocol_errors()
def decode_instances(instances: Sequence[Any], job_id: str | None = None) -> TranslationJob:
    return _job(parse_instances(instances, text_rule=fields.nonblank_text), job_id)


def encode_v1(
    translations: Sequence[str],
    results: Sequence[TextTranslation] | None = None,
    options: TranslationOptions = PLAIN,
) -> dict[str, list[Any]]:
    """`{"predictions"}`: the translations, or with `options` the `results` as objects."""
    if results is None or options.plain:
        return v1_response([TextTranslation(t) for t in translations])
    return v1_response(results, options)


def _job(
    items: Sequence[Any], job_id: str | None, options: TranslationOptions = PLAIN
) -> TranslationJob:
    if not items:
        raise InvalidInput(f"'{INSTANCES}' is empty: give at least one text")
    return TranslationJob.of_items(items, ReplyShape.V1, job_id, options=options)
