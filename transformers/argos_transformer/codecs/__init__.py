"""Request and response formats, all decoded into one `TranslationJob`.

`decode_record_value` is the shared decoder of a Kafka record value (and CloudEvent data).
"""

from argos_transformer.codecs.job import ReplyShape, TranslationJob
from argos_transformer.codecs.records import (
    DEFAULT_MAX_RECORD_BYTES,
    decode_document,
    decode_record_value,
    encode_record,
)

__all__ = [
    "DEFAULT_MAX_RECORD_BYTES",
    "ReplyShape",
    "TranslationJob",
    "decode_document",
    "decode_record_value",
    "encode_record",
]
