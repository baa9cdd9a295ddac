"""The sentence-end rule, and offline sentence splitting that keeps a text's own whitespace.

A sentence ends at `.`, `!`, `?` or `…` (optionally followed by closing quotes or brackets)
before whitespace and a word that does not start in lowercase, unless the word before is a
known abbreviation or an initial ("J. Smith"); after a CJK full stop; and at every line break.

A text becomes its leading whitespace plus (sentence, whitespace-after) pairs, so translations
are re-joined with the original spacing, line and paragraph breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TERMINATORS = ".!?…"
CLOSERS = "\"'”’»)]"
OPENERS = "\"'“‘«([¿¡"
CJK_TERMINATORS = "。！？"
ABBREVIATIONS = frozenset(
    {"mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "etc", "e.g", "i.e", "cf", "fig"}
    | {"no", "nr", "art", "sra", "srta", "dra", "ud", "uds"}
)
_WHITESPACE = re.compile(r"(\s+)")
_CJK_SPLIT = re.compile(f"(?<=[{CJK_TERMINATORS}])(?=.)")


def ends_sentence(word: str, next_word: str) -> bool:
    """Whether a sentence ends after `word` when whitespace and `next_word` follow it."""
    stripped = word.rstrip(CLOSERS)
    if not stripped or stripped[-1] not in TERMINATORS:
        return False
    if stripped.endswith(".") and stripped[:-1].lower().lstrip(OPENERS) in ABBREVIATIONS:
        return False
    if len(stripped) == 2 and stripped[0].isupper() and stripped[1] == ".":
        return False  # an initial, as in "J. Smith"
    first = next_word.lstrip(OPENERS)[:1]
    return bool(first) and not first.islower()


@dataclass(frozen=True)
class SplitText:
    leading: str
    sentences: list[str]
    separators: list[str]

    def join(self, translated: list[str]) -> str:
        if len(translated) != len(self.sentences):
            raise ValueError("one translation per sentence is required")
        return self.leading + "".join(
            t + s for t, s in zip(translated, self.separators, strict=True)
        )


def split_sentences(text: str) -> SplitText:
    parts = _WHITESPACE.split(text)
    leading = ""
    if parts and parts[0] == "":
        parts = parts[1:]
        if parts:
            leading, parts = parts[0], parts[1:]
    sentences: list[str] = []
    separators: list[str] = []
    current = ""
    # parts alternates: word, whitespace, word, whitespace, ... (may end with a word or space)
    for index in range(0, len(parts), 2):
        word = parts[index]
        space = parts[index + 1] if index + 1 < len(parts) else ""
        pieces = _CJK_SPLIT.split(word) if any(c in word for c in CJK_TERMINATORS) else [word]
        for piece in pieces[:-1]:
            sentences.append(current + piece)
            separators.append("")
            current = ""
        current += pieces[-1]
        next_word = parts[index + 2] if index + 2 < len(parts) else ""
        if not space:
            continue
        if "\n" in space or not next_word or ends_sentence(pieces[-1], next_word):
            sentences.append(current)
            separators.append(space)
            current = ""
        else:
            current += space
    if current:
        sentences.append(current)
        separators.append("")
    return SplitText(leading, sentences, separators)
