"""Text pre- and post-processing: normalise, cut into segments the predictor accepts, re-join.

A text is normalised (Unicode NFC, line breaks unified, runs of spaces collapsed, control and
zero-width characters dropped, at most one blank line kept between paragraphs), then laid out as
segments with the separator that followed each one: a line break, a paragraph break, or the
space/nothing between two pieces of a line that was too long. Translating every segment and
re-joining with the same separators restores the paragraph structure; `join_results` does the
same for alternatives and scores.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from argos_protocol import TextTranslation, TranslationOptions
from argos_protocol.sentences import split_sentences

_LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_SPACES = re.compile(r"[^\S\n]+")
_EXTRA_BLANK_LINES = re.compile(r"\n{3,}")
_BREAKS = re.compile(r"(\n+)")
# Zero-width and byte-order marks carry no text; other controls (except \n) are dropped too.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def normalize(text: str) -> str:
    """NFC, `\\n` line breaks, single spaces, no control/zero-width characters, trimmed."""
    text = _LINE_BREAKS.sub("\n", text.translate(_INVISIBLE))
    if not text.isprintable():
        text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")
    text = unicodedata.normalize("NFC", text)  # after dropping what could separate a mark
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    return _EXTRA_BLANK_LINES.sub("\n\n", "\n".join(lines)).strip("\n")


@dataclass(frozen=True)
class Layout:
    """Segments of one normalised text and the separator after each (the last one's is "")."""

    segments: tuple[str, ...]
    separators: tuple[str, ...]

    def join(self, translations: Sequence[str]) -> str:
        if len(translations) != len(self.segments):
            raise ValueError(
                f"expected {len(self.segments)} translations, got {len(translations)}"
            )
        return "".join(
            translation.strip() + separator
            for translation, separator in zip(translations, self.separators, strict=True)
        )


def join_results(
    layout: Layout, parts: Sequence[TextTranslation], options: TranslationOptions
) -> TextTranslation:
    """One text's result from its segments' results.

    Alternative k joins every segment's k-th alternative (as the predictor joins a text's
    sentences). The confidence is the geometric mean of the segments' confidences weighted by
    the length of their translations (a stand-in for their token counts, which the predictor
    uses for a text's sentences): exp(sum(n_i * log c_i) / sum(n_i)). A text of one segment
    keeps the predictor's own score.
    """
    alternatives = tuple(
        layout.join([part.alternatives[k] for part in parts]) for k in range(options.alternatives)
    )
    log_probability = parts[0].log_probability if len(parts) == 1 else None
    if options.return_scores and len(parts) > 1:
        weights = [max(1, len(part.translation.strip())) for part in parts]
        log_probability = sum(
            weight * (part.log_probability or 0.0)
            for weight, part in zip(weights, parts, strict=True)
        ) / sum(weights)
    return TextTranslation(
        layout.join([part.translation for part in parts]), alternatives, log_probability
    )


def lay_out(text: str, max_segment_chars: int) -> Layout:
    """Cut a normalised text at line breaks, and lines longer than the limit at sentence ends,
    then at spaces, then anywhere, so that every segment has at most `max_segment_chars`."""
    if max_segment_chars < 1:
        raise ValueError("max_segment_chars must be >= 1")
    segments: list[str] = []
    separators: list[str] = []
    parts = _BREAKS.split(text)
    for index in range(0, len(parts), 2):
        line = parts[index]
        line_break = parts[index + 1] if index + 1 < len(parts) else ""
        if not line:
            continue
        pieces = _split_line(line, max_segment_chars)
        for piece, gap in pieces[:-1]:
            segments.append(piece)
            separators.append(gap)
        segments.append(pieces[-1][0])
        separators.append(line_break)
    return Layout(tuple(segments), tuple(separators))


def _split_line(line: str, limit: int) -> list[tuple[str, str]]:
    """(piece, separator-after) pairs, each piece at most `limit` characters."""
    if len(line) <= limit:
        return [(line, "")]
    units: list[tuple[str, str]] = []
    for sentence, gap in _sentences(line):
        if len(sentence) <= limit:
            units.append((sentence, gap))
            continue
        words = sentence.split(" ")  # normalised: single spaces
        for word_index, word in enumerate(words):
            after = gap if word_index == len(words) - 1 else " "
            chunks = [word[i : i + limit] for i in range(0, len(word), limit)] or [word]
            units.extend((chunk, "") for chunk in chunks[:-1])
            units.append((chunks[-1], after))
    return _pack(units, limit)


def _sentences(line: str) -> list[tuple[str, str]]:
    """(sentence, gap-after) pairs of one normalised line, by the protocol's sentence rule."""
    split = split_sentences(line)
    return list(zip(split.sentences, split.separators, strict=True))


def _pack(units: list[tuple[str, str]], limit: int) -> list[tuple[str, str]]:
    """Greedily join consecutive units (with their gaps) while the result fits the limit."""
    packed: list[tuple[str, str]] = []
    current, current_gap = units[0]
    for unit, gap in units[1:]:
        if len(current) + len(current_gap) + len(unit) <= limit:
            current = current + current_gap + unit
            current_gap = gap
        else:
            packed.append((current, current_gap))
            current, current_gap = unit, gap
    packed.append((current, current_gap))
    return packed
