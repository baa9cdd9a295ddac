"""Word alignments from the model's attention, which CTranslate2 gives over SentencePiece pieces.

The rule, from pieces to words:

- **Words.** A word is a run of letters, marks and digits (Unicode categories L, M, N); every
  other visible character (punctuation, a symbol) is a word of its own; whitespace separates
  words. So "sleeps." is "sleeps" and "."; a script written without spaces gets one word per
  run of letters.
- **Pieces of a word.** SentencePiece gives every piece its character span in the text. A piece
  belongs to each word its span overlaps. A piece made from part of one character (NFKC turns
  "ﬁ" into "f" and "i") has an empty span and belongs to the word at its position. A piece that
  overlaps no word (a lone "▁") is left out.
- **Weights.** A target piece's weight for a source word is the attention it paid to that word's
  pieces, summed; a target word's weight is the mean over its pieces. Each target piece's
  attention adds up to 1 over the source pieces, so a target word's weights are in [0, 1] and
  add up to at most 1.
- **Pivots.** Through a pivot language the two hops' word weights multiply (target word ->
  pivot word -> source word): the pivot words are the first hop's target words and the second
  hop's source words, the same text.

The attention is one head of the model's last decoder layer, what CTranslate2 returns with
`return_attention`: what the model looked at, not a trained aligner.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from argos_protocol.explain import Span, WordAlignment

CharSpan = tuple[int, int]


@dataclass(frozen=True)
class PieceAttention:
    """One translated sentence: each piece's character span in the sentence (`source`) and in
    its translation (`target`), and each target piece's attention over the source pieces."""

    source: str
    target: str
    source_spans: Sequence[CharSpan]
    target_spans: Sequence[CharSpan]
    weights: Sequence[Sequence[float]]  # [target piece][source piece]


@dataclass(frozen=True)
class WordWeights:
    """How much each word of `target` drew on each word of `source`."""

    source: str
    target: str
    source_words: tuple[CharSpan, ...]
    target_words: tuple[CharSpan, ...]
    weights: np.ndarray  # [target word, source word]

    def then(self, following: WordWeights) -> WordWeights:
        """These weights followed by a next hop that translates this one's target."""
        if following.source != self.target:
            raise ValueError("the next hop must translate this hop's translation")
        return WordWeights(
            self.source,
            following.target,
            self.source_words,
            following.target_words,
            following.weights @ self.weights,
        )

    def alignments(self, min_weight: float) -> tuple[WordAlignment, ...]:
        """Pairs of at least `min_weight`, by target word, heaviest source word first."""
        found = []
        for row, (t_start, t_end) in enumerate(self.target_words):
            target = Span(t_start, t_end, self.target[t_start:t_end])
            weights = self.weights[row]
            for column in np.argsort(-weights, kind="stable"):
                if weights[column] < min_weight:
                    break
                s_start, s_end = self.source_words[column]
                found.append(
                    WordAlignment(
                        Span(s_start, s_end, self.source[s_start:s_end]),
                        target,
                        float(weights[column]),
                    )
                )
        return tuple(found)


def words(text: str) -> tuple[CharSpan, ...]:
    """The character spans of `text`'s words (see the module's rule)."""
    spans: list[CharSpan] = []
    start: int | None = None
    for index, character in enumerate(text):
        kind = unicodedata.category(character)[0]
        if kind in "LMN":
            if start is None:
                start = index
            continue
        if start is not None:
            spans.append((start, index))
            start = None
        if kind not in "ZC" and not character.isspace():
            spans.append((index, index + 1))
    if start is not None:
        spans.append((start, len(text)))
    return tuple(spans)


def membership(pieces: Sequence[CharSpan], word_spans: Sequence[CharSpan]) -> np.ndarray:
    """[piece, word]: 1 where the piece belongs to the word, else 0."""
    if not pieces or not word_spans:
        return np.zeros((len(pieces), len(word_spans)))
    piece_array = np.array(pieces, dtype=np.int64).reshape(-1, 2)
    starts = piece_array[:, :1]
    ends = np.maximum(piece_array[:, 1:], starts + 1)  # an empty span covers its position
    word_array = np.array(word_spans, dtype=np.int64)
    overlaps = (starts < word_array[:, 1]) & (word_array[:, 0] < ends)
    return overlaps.astype(np.float64)


def word_weights(attention: PieceAttention) -> WordWeights:
    source_words, target_words = words(attention.source), words(attention.target)
    pieces_of_source = membership(attention.source_spans, source_words)  # [sp, sw]
    pieces_of_target = membership(attention.target_spans, target_words)  # [tp, tw]
    matrix = np.asarray(attention.weights, dtype=np.float64).reshape(
        len(attention.target_spans), len(attention.source_spans)
    )
    per_piece = matrix @ pieces_of_source  # [tp, sw]: attention to each source word
    counts = pieces_of_target.sum(axis=0)  # pieces per target word
    summed = pieces_of_target.T @ per_piece  # [tw, sw]
    weights = np.divide(
        summed, counts[:, None], out=np.zeros_like(summed), where=counts[:, None] > 0
    )
    return WordWeights(attention.source, attention.target, source_words, target_words, weights)
