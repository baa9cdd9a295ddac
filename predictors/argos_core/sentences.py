"""Offline sentence splitting that keeps the text's own whitespace for re-joining.

A text becomes a leading whitespace plus a list of (sentence, whitespace-after) pairs, so the
translation is re-joined with the original spacing, line and paragraph breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TERMINATORS = ".!?…"
_CLOSERS = "\"'”’»)]"
_CJK_TERMINATORS = "。！？"
_ABBREVIATIONS = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "dr",
        "prof",
        "sr",
        "jr",
        "st",
        "vs",
        "etc",
        "e.g",
        "i.e",
        "cf",
        "fig",
        "no",
        "nr",
        "art",
        "sra",
        "srta",
        "dra",
        "ud",
        "uds",
    ]
)
_WHITESPACE = re.compile(r"(\s+)")
_CJK_SPLIT = re.compile(f"(?<=[{_CJK_TERMINATORS}])(?=.)")


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
        pieces = _CJK_SPLIT.split(word) if any(c in word for c in _CJK_TERMINATORS) else [word]
        for piece in pieces[:-1]:
            sentences.append(current + piece)
            separators.append("")
            current = ""
        current += pieces[-1]
        next_word = parts[index + 2] if index + 2 < len(parts) else ""
        if not space:
            continue
        if "\n" in space or not next_word or _ends_sentence(pieces[-1], next_word):
            sentences.append(current)
            separators.append(space)
            current = ""
        else:
            current += space
    if current:
        sentences.append(current)
        separators.append("")
    return SplitText(leading, sentences, separators)


def _ends_sentence(word: str, next_word: str) -> bool:
    stripped = word.rstrip(_CLOSERS)
    if not stripped or stripped[-1] not in _TERMINATORS:
        return False
    if stripped.endswith(".") and stripped[:-1].lower().lstrip("(\"'") in _ABBREVIATIONS:
        return False
    if len(stripped) == 2 and stripped[0].isupper() and stripped[1] == ".":
        return False  # an initial, as in "J. Smith"
    first = next_word.lstrip("\"'“‘«([¿¡")[:1]
    return bool(first) and not first.islower()
