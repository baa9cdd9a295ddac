"""LibreTranslate's `/translate`: `q` (string or list), `source`, `target`, `format`
-> `{"translatedText": string or list}`; errors are `{"error": message}`.

`source: "auto"` resolves only when the configured pairs leave one possible source language for
the target; there is no language detection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from argos_protocol import fields
from argos_transformer.codecs.job import ReplyShape, TranslationJob
from argos_transformer.errors import InvalidInput, protocol_errors
from argos_transformer.languages import LanguageCatalog

SUPPORTED_FORMATS = ("text",)


@dataclass(frozen=True)
class LibreRequest:
    job: TranslationJob
    many: bool  # q was a list: answer with a list


@protocol_errors()
def decode_libre(params: Mapping[str, Any], catalog: LanguageCatalog) -> LibreRequest:
    q = params.get("q")
    if q is None or q == "" or q == []:
        raise InvalidInput("Invalid request: missing q parameter")
    for name in ("source", "target"):
        if not params.get(name):
            raise InvalidInput(f"Invalid request: missing {name} parameter")
    text_format = params.get("format") or "text"
    if text_format not in SUPPORTED_FORMATS:
        raise InvalidInput(
            f"format {str(text_format)[:32]!r} is not supported; use one of: "
            + ", ".join(SUPPORTED_FORMATS)
        )
    target = fields.language_code(params["target"], "target")
    source = _source(params["source"], target, catalog)
    many = isinstance(q, list)
    values: Sequence[Any] = q if many else [q]
    texts = tuple(
        fields.nonblank_text(value, f"q[{index}]" if many else "q")
        for index, value in enumerate(values)
    )
    return LibreRequest(TranslationJob(texts, source, target, shape=ReplyShape.V1), many)


def encode_libre(translations: Sequence[str], many: bool) -> dict[str, Any]:
    return {"translatedText": list(translations) if many else translations[0]}


def _source(value: Any, target: str | None, catalog: LanguageCatalog) -> str | None:
    if value != "auto":
        return fields.language_code(value, "source")
    candidates = catalog.sources_for(target or "")
    if len(candidates) == 1:
        return candidates[0]
    known = ", ".join(candidates) or "none configured"
    raise InvalidInput(
        f"source 'auto' needs language detection, which this service does not do; "
        f"set source to one of the languages that translate into {target!r}: {known}"
    )
