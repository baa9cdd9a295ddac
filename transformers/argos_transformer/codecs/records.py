"""Single-record formats, shared by the HTTP path, CloudEvent data and Kafka record values.

A record is JSON `{"text", "source"?, "target"?, "id"?}`, a plain UTF-8 string, or a V1 body
`{"instances": [...]}`. The answer to a record is `{"id", "translation", "source", "target"}`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import orjson

from argos_protocol import fields
from argos_transformer.codecs.job import ReplyShape, TranslationJob
from argos_transformer.codecs.v1 import decode_instances, decode_v1
from argos_transformer.errors import InputTooLarge, InvalidInput, protocol_errors

DEFAULT_MAX_RECORD_BYTES = 1 << 20
_RECORD_FIELDS = frozenset({"text", "source", "target", "id"})


@protocol_errors()
def decode_record_value(
    value: bytes | None, *, max_bytes: int = DEFAULT_MAX_RECORD_BYTES, record_id: str | None = None
) -> TranslationJob:
    """Decode a Kafka record value (or CloudEvent data) into a job.

    JSON objects and arrays must be valid JSON; anything else is taken as plain text. Raises
    `InvalidInput` (400) for empty, undecodable or malformed values and `InputTooLarge` (413)
    above `max_bytes`. `record_id` is used when the value carries no `id` of its own.
    """
    if value is None or not value.strip():
        raise InvalidInput("record value is empty")
    if len(value) > max_bytes:
        raise InputTooLarge(f"record value is {len(value)} bytes; the limit is {max_bytes}")
    text = fields.utf8(value, "record value")
    first = text.lstrip()[:1]
    if first in ("{", "["):
        try:
            document = orjson.loads(value)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput(f"record value is not valid JSON: {exc}") from exc
        return decode_document(document, record_id=record_id)
    if first == '"':
        try:
            document = orjson.loads(value)
        except orjson.JSONDecodeError:
            document = text
        return decode_document(document, record_id=record_id)
    return TranslationJob(texts=(text,), id=record_id, shape=ReplyShape.RECORD)


@protocol_errors()
def decode_document(document: Any, *, record_id: str | None = None) -> TranslationJob:
    """A parsed JSON document: a V1 body, a record object, a string or a list of instances."""
    if isinstance(document, Mapping):
        if "instances" in document:
            job = decode_v1(document)
            return job if job.id is not None or record_id is None else _with_id(job, record_id)
        if "text" in document:
            return decode_record(document, record_id=record_id)
        raise InvalidInput(
            "expected {\"text\": ..., \"source\"?, \"target\"?, \"id\"?}, a V1 body "
            "{\"instances\": [...]} or plain text; got an object with fields: "
            + (", ".join(sorted(map(str, document))) or "none")
        )
    if isinstance(document, str):
        return TranslationJob(
            texts=(fields.nonblank_text(document, "text"),), id=record_id,
            shape=ReplyShape.RECORD,
        )
    if isinstance(document, list):
        return decode_instances(document, record_id)
    raise InvalidInput(
        f"expected a JSON object, string or list of texts, got {fields.type_name(document)}"
    )


@protocol_errors()
def decode_record(record: Mapping[str, Any], *, record_id: str | None = None) -> TranslationJob:
    unknown = sorted(set(record) - _RECORD_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown fields in record: {', '.join(unknown)}")
    return TranslationJob(
        texts=(fields.nonblank_text(record.get("text"), "text"),),
        source=fields.language_code(record.get("source"), "source"),
        target=fields.language_code(record.get("target"), "target"),
        id=fields.record_id(record.get("id")) or record_id,
        shape=ReplyShape.RECORD,
    )


def encode_record(job: TranslationJob, translation: str) -> dict[str, Any]:
    return {
        "id": job.id,
        "translation": translation,
        "source": job.source,
        "target": job.target,
    }


def _with_id(job: TranslationJob, record_id: str | None) -> TranslationJob:
    if record_id is None:
        return job
    return dataclasses.replace(job, id=record_id)
