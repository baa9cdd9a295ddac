"""The rule from the model's piece attention to word alignments (`argos_core.alignment`), and
how a text's explanation places sentences and words in the whole text."""

from __future__ import annotations

import numpy as np
import pytest

from argos_core.alignment import PieceAttention, WordWeights, membership, word_weights, words
from argos_core.engine import SentenceTranslation
from argos_core.explanations import text_explanation
from argos_protocol.explain import Span
from argos_protocol.sentences import split_sentences


def texts_of(text: str, spans: tuple[tuple[int, int], ...]) -> list[str]:
    return [text[start:end] for start, end in spans]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("The small dog sleeps.", ["The", "small", "dog", "sleeps", "."]),
        ("  l'homme, 42 ans!", ["l", "'", "homme", ",", "42", "ans", "!"]),
        ("pequeño niño\u0301", ["pequeño", "niño\u0301"]),  # a combining mark stays in its word
        ("日本語。テスト", ["日本語", "。", "テスト"]),
        ("a\u00a0b\tc\n", ["a", "b", "c"]),
        ("", []),
        ("   ", []),
    ],
)
def test_words_are_runs_of_letters_marks_and_digits_or_single_signs(
    text: str, expected: list[str]
) -> None:
    assert texts_of(text, words(text)) == expected


def test_a_piece_belongs_to_every_word_it_overlaps() -> None:
    word_spans = ((0, 3), (4, 9), (9, 10))  # "The", "small", "."
    pieces = [
        (0, 3),  # "▁The"
        (3, 9),  # "▁small" starts on the space before the word
        (9, 10),  # "."
        (2, 5),  # a piece across a word boundary
        (4, 4),  # an empty span (part of one character) belongs to the word at its position
        (3, 4),  # a lone "▁": no word
    ]
    assert membership(pieces, word_spans).tolist() == [
        [1, 0, 0],
        [0, 1, 0],
        [0, 0, 1],
        [1, 1, 0],
        [0, 1, 0],
        [0, 0, 0],
    ]
    assert membership([], word_spans).shape == (0, 3)
    assert membership(pieces, ()).shape == (6, 0)


def test_source_pieces_sum_and_target_pieces_average() -> None:
    # Source "ab cd": pieces "▁a" "b" (word ab), "▁cd" (word cd).
    # Target "xy z": pieces "▁x" "y" (word xy), "▁z" (word z).
    attention = PieceAttention(
        "ab cd",
        "xy z",
        [(0, 1), (1, 2), (2, 5)],
        [(0, 1), (1, 2), (2, 4)],
        [
            [0.5, 0.3, 0.2],  # ▁x: ab 0.8, cd 0.2
            [0.1, 0.1, 0.8],  # y:  ab 0.2, cd 0.8
            [0.0, 0.1, 0.9],  # ▁z: ab 0.1, cd 0.9
        ],
    )
    weights = word_weights(attention)
    assert texts_of("ab cd", weights.source_words) == ["ab", "cd"]
    assert texts_of("xy z", weights.target_words) == ["xy", "z"]
    np.testing.assert_allclose(weights.weights, [[0.5, 0.5], [0.1, 0.9]])
    assert all(row.sum() <= 1 + 1e-9 for row in weights.weights)


def test_alignments_list_heavy_pairs_by_target_word_heaviest_first() -> None:
    weights = WordWeights(
        "a b c",
        "x y",
        ((0, 1), (2, 3), (4, 5)),
        ((0, 1), (2, 3)),
        np.array([[0.05, 0.35, 0.6], [0.9, 0.0, 0.1]]),
    )
    found = [(a.target.text, a.source.text, a.weight) for a in weights.alignments(0.1)]
    assert found == [("x", "c", 0.6), ("x", "b", 0.35), ("y", "a", 0.9), ("y", "c", 0.1)]
    first = weights.alignments(0.1)[0]
    assert (first.source, first.target) == (Span(4, 5, "c"), Span(0, 1, "x"))


def test_a_pivot_multiplies_the_hops_word_weights() -> None:
    first = WordWeights("a b", "p q", ((0, 1), (2, 3)), ((0, 1), (2, 3)), np.eye(2)[::-1])
    second = WordWeights(
        "p q", "x y", ((0, 1), (2, 3)), ((0, 1), (2, 3)), np.array([[0.8, 0.2], [0.0, 1.0]])
    )
    through = first.then(second)
    assert (through.source, through.target) == ("a b", "x y")
    # x drew 0.8 on p (which came from b) and 0.2 on q (which came from a).
    np.testing.assert_allclose(through.weights, [[0.2, 0.8], [1.0, 0.0]])
    with pytest.raises(ValueError, match="this hop's translation"):
        second.then(first)


def sentence(source: str, target: str, pieces: list[tuple[str, str]]) -> SentenceTranslation:
    """A one-to-one translation where target word i attends only to source word i."""
    source_spans = [(source.index(s), source.index(s) + len(s)) for s, _ in pieces]
    target_spans = [(target.index(t), target.index(t) + len(t)) for _, t in pieces]
    attention = PieceAttention(source, target, source_spans, target_spans, np.eye(len(pieces)))
    return SentenceTranslation((target,), -0.5, len(pieces), attention)


def test_offsets_are_moved_from_each_sentence_to_the_whole_text() -> None:
    text = "  Big dog.\n\nRed cat! "
    split = split_sentences(text)
    hops = [
        [
            sentence("Big dog.", "Perro grande.", [("Big", "grande"), ("dog", "Perro")]),
            sentence("Red cat!", "¡Gato rojo!", [("Red", "rojo"), ("cat", "Gato")]),
        ]
    ]
    explained = text_explanation(split, hops, [-0.5, -0.5], ())
    assert explained.translation == "  Perro grande.\n\n¡Gato rojo! "
    for part in explained.sentences:
        assert text[part.source.start : part.source.end] == part.source.text
        assert explained.translation[part.translation.start : part.translation.end] == (
            part.translation.text
        )
        for alignment in part.alignments:
            source, target = alignment.source, alignment.target
            assert text[source.start : source.end] == source.text
            assert explained.translation[target.start : target.end] == target.text
    pairs = [(a.source.text, a.target.text) for s in explained.sentences for a in s.alignments]
    assert pairs == [("dog", "Perro"), ("Big", "grande"), ("cat", "Gato"), ("Red", "rojo")]
    assert explained.log_probability == pytest.approx(-0.5)


def test_a_text_with_nothing_to_translate_is_explained_as_itself() -> None:
    explained = text_explanation(split_sentences(" \n "), [[]], [], ())
    assert (explained.translation, explained.sentences) == (" \n ", ())
    assert explained.confidence == 1.0
