"""What every accepted request becomes: texts, each with its language pair."""

from __future__ import annotations

from dataclasses import dataclass

from argos_protocol.options import PLAIN, TranslationOptions

PAIR_FIELDS = ("source", "target")


@dataclass(frozen=True)
class TextItem:
    """One text to translate, with its own language pair (None = the server's default)."""

    text: str
    source: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class TranslationRequest:
    items: tuple[TextItem, ...]
    id: str | None = None
    options: TranslationOptions = PLAIN
