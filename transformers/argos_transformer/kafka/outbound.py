"""The records the bridge writes: translations to the output topic, failures to the DLQ."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import orjson

from argos_protocol import TextTranslation
from argos_protocol.logs import REQUEST_ID_HEADER
from argos_transformer.codecs.job import TranslationJob
from argos_transformer.codecs.records import encode_record
from argos_transformer.kafka.faults import Fault

Headers = list[tuple[str, bytes]]

HEADER_ID = "argos.id"
HEADER_SOURCE_TOPIC = "argos.source.topic"
HEADER_SOURCE_PARTITION = "argos.source.partition"
HEADER_SOURCE_OFFSET = "argos.source.offset"
HEADER_ERROR_CLASS = "argos.error.class"
HEADER_ERROR_MESSAGE = "argos.error.message"
HEADER_ERROR_STATUS = "argos.error.status"
HEADER_ERROR_EXCEPTION = "argos.error.exception"
HEADER_ERROR_ATTEMPTS = "argos.error.attempts"
HEADER_ERROR_TIME = "argos.error.time"
MAX_ERROR_MESSAGE_CHARS = 2000


class InboundRecord(Protocol):
    """The fields of kafka-python's ConsumerRecord the bridge uses."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: Sequence[tuple[str, bytes]] | None


@dataclass(frozen=True)
class OutboundRecord:
    topic: str
    key: bytes | None
    value: bytes | None
    headers: Headers


def coordinates_id(record: InboundRecord) -> str:
    """The id of a record that carries none: `<topic>-<partition>-<offset>`, stable on replay."""
    return f"{record.topic}-{record.partition}-{record.offset}"


def source_headers(record: InboundRecord, record_id: str) -> Headers:
    return [
        (HEADER_ID, record_id.encode()),
        (HEADER_SOURCE_TOPIC, record.topic.encode()),
        (HEADER_SOURCE_PARTITION, str(record.partition).encode()),
        (HEADER_SOURCE_OFFSET, str(record.offset).encode()),
    ]


def translation_record(
    topic: str,
    record: InboundRecord,
    job: TranslationJob,
    results: Sequence[TextTranslation],
    scores: bool = False,
) -> OutboundRecord:
    """`{"id", "translation", "source", "target", "score"?}` under the input's key; `score`
    (the model's 0-1 confidence) with `scores`.

    A record holding several texts (a V1 body) gets lists of translations and scores, in order.
    """
    record_id = job.id or coordinates_id(record)
    one = len(job.texts) == 1
    translations = [result.translation for result in results]
    body = encode_record(job, translations[0] if one else translations)
    body["id"] = record_id
    if scores:
        confidences = [result.confidence for result in results]
        body["score"] = confidences[0] if one else confidences
    return OutboundRecord(topic, record.key, orjson.dumps(body), source_headers(record, record_id))


def dead_letter_record(
    topic: str,
    record: InboundRecord,
    fault: Fault,
    attempts: int,
    record_id: str | None = None,
    now: dt.datetime | None = None,
    request_id: str | None = None,
) -> OutboundRecord:
    """The original key, value and headers, unchanged, plus headers saying what went wrong
    and, when the original has none, `x-request-id` (the id both logs name the record by)."""
    moment = now or dt.datetime.now(dt.UTC)
    error_headers: Headers = [
        (HEADER_ERROR_CLASS, fault.error_class.encode()),
        (HEADER_ERROR_MESSAGE, fault.message[:MAX_ERROR_MESSAGE_CHARS].encode()),
        (HEADER_ERROR_STATUS, str(fault.status or "").encode()),
        (HEADER_ERROR_EXCEPTION, fault.exception.encode()),
        (HEADER_ERROR_ATTEMPTS, str(attempts).encode()),
        (HEADER_ERROR_TIME, moment.isoformat(timespec="milliseconds").encode()),
    ]
    coordinates = source_headers(record, record_id or coordinates_id(record))
    original = record.headers or []
    if request_id and all(name.lower() != REQUEST_ID_HEADER for name, _ in original):
        coordinates.append((REQUEST_ID_HEADER, request_id.encode()))
    headers = [*original, *coordinates, *error_headers]
    return OutboundRecord(topic, record.key, record.value, headers)


def header(headers: Sequence[tuple[str, bytes]] | None, name: str) -> str | None:
    """The last value of header `name`, decoded, or None."""
    found = None
    for key, value in headers or ():
        if key == name:
            found = value.decode("utf-8", "replace") if value is not None else None
    return found
