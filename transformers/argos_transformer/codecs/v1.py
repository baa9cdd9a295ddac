"""KServe V1: `{"instances": [...], "parameters"?: {"source", "target"}}` -> `{"predictions"}`,
read by `argos_protocol` with the transformer's stricter text rule (no blank texts, at least
one text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from argos_protocol import TextTranslation, fields, parse_v1, v1_response
from argos_protocol.v1 import INSTANCES, parse_instances
from argos_transformer.codecs.job import ReplyShape, TranslationJob
from argos_transformer.errors import InvalidInput, protocol_errors


@protocol_errors()
def decode_v1(body: Mapping[str, Any]) -> TranslationJob:
    request = parse_v1(body, fields.nonblank_text)
    return _job(request.items, request.id)


@protocol_errors()
def decode_instances(instances: Sequence[Any], job_id: str | None = None) -> TranslationJob:
    return _job(parse_instances(instances, text_rule=fields.nonblank_text), job_id)


def encode_v1(translations: Sequence[str]) -> dict[str, list[Any]]:
    return v1_response([TextTranslation(t) for t in translations])


def _job(items: Sequence[Any], job_id: str | None) -> TranslationJob:
    if not items:
        raise InvalidInput(f"'{INSTANCES}' is empty: give at least one text")
    return TranslationJob.of_items(items, ReplyShape.V1, job_id)
