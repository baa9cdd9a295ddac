"""A bounded LRU cache of sentence translations for one language pair."""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

Translation = TypeVar("Translation")


class SentenceCache(Generic[Translation]):
    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, Translation] = OrderedDict()

    def get(self, sentence: str) -> Translation | None:
        translation = self._entries.get(sentence)
        if translation is not None:
            self._entries.move_to_end(sentence)
        return translation

    def put(self, sentence: str, translation: Translation) -> None:
        self._entries[sentence] = translation
        self._entries.move_to_end(sentence)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
