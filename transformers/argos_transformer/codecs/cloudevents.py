"""CloudEvents on the V1 `:predict` path (binary or structured; what a Knative KafkaSource
sends). The event data is decoded like a Kafka record value: JSON `{"text", ...}`, a V1 body or
plain text. The reply is an event with the request's `id`, its Kafka `key` (extension `key`,
as KafkaSource sets it, and `partitionkey`, which a KafkaSink uses as the record key) and, as
data, the record answer `{"id", "translation", "source", "target"}` or `{"predictions"}`.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cloudevents.http import CloudEvent

from argos_protocol import TextTranslation
from argos_transformer.codecs.job import ReplyShape, TranslationJob
from argos_transformer.codecs.records import decode_document, decode_record_value, encode_record
from argos_transformer.codecs.v1 import encode_v1
from argos_transformer.errors import InvalidInput

KEY_EXTENSIONS = ("key", "partitionkey")


@dataclass(frozen=True)
class EventContext:
    """What the reply event keeps from the request event."""

    id: str | None
    key: str | None


def decode_event(event: CloudEvent, max_bytes: int) -> tuple[TranslationJob, EventContext]:
    attributes = event.get_attributes()
    event_id = _string(attributes.get("id"))
    key = next(
        (_string(attributes[name]) for name in KEY_EXTENSIONS if attributes.get(name) is not None),
        None,
    )
    data = event.get_data()
    if data is None:
        raise InvalidInput("CloudEvent has no data")
    if isinstance(data, bytes | bytearray):
        job = decode_record_value(bytes(data), max_bytes=max_bytes, record_id=event_id)
    elif isinstance(data, str):
        job = decode_record_value(data.encode("utf-8"), max_bytes=max_bytes, record_id=event_id)
    else:
        job = decode_document(data, record_id=event_id)
    if job.shape is ReplyShape.V1 and job.id is None:
        job = dataclasses.replace(job, id=event_id)
    return job, EventContext(event_id, key)


def encode_reply(
    job: TranslationJob,
    translations: Sequence[str],
    context: EventContext,
    model_name: str,
    results: Sequence[TextTranslation] | None = None,
) -> CloudEvent:
    data: dict[str, Any] = (
        encode_record(job, translations[0])
        if job.shape is ReplyShape.RECORD
        else encode_v1(translations, results, job.options)
    )
    attributes = {
        "id": context.id or str(uuid.uuid4()),
        "type": os.environ.get("CE_TYPE", "io.kserve.inference.response"),
        "source": os.environ.get("CE_SOURCE", f"io.kserve.inference.{model_name}"),
        "datacontenttype": "application/json",
    }
    if context.key is not None:
        attributes.update(dict.fromkeys(KEY_EXTENSIONS, context.key))
    return CloudEvent(attributes, data)


def _string(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)
