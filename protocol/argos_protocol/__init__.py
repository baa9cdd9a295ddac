"""The translation contract of kserve-argos, shared by every server and the transformer.

Request shapes (KServe V1, Open Inference Protocol V2), tensor names, field rules (language
codes, texts, ids), the sentence-end rule, and the one error a broken rule raises
(`InvalidRequest`, answered 400); and what every server process sets up the same way: its log
lines (`logs`) and garbage collection (`garbage_collection`). Plain Python: no web framework, no
model engine, so each image copies it in.
"""

from argos_protocol.errors import InvalidRequest
from argos_protocol.options import PLAIN, TranslationOptions
from argos_protocol.request import PAIR_FIELDS, TextItem, TranslationRequest
from argos_protocol.results import TextTranslation
from argos_protocol.v1 import parse_v1, v1_response
from argos_protocol.v2 import (
    TEXT_INPUT,
    TRANSLATION_OUTPUT,
    OutputValues,
    TensorValues,
    parse_v2,
    v2_outputs,
)

__all__ = [
    "PAIR_FIELDS",
    "PLAIN",
    "TEXT_INPUT",
    "TRANSLATION_OUTPUT",
    "InvalidRequest",
    "OutputValues",
    "TensorValues",
    "TextItem",
    "TextTranslation",
    "TranslationOptions",
    "TranslationRequest",
    "parse_v1",
    "parse_v2",
    "v1_response",
    "v2_outputs",
]
