"""Normalisation, segmentation and re-joining (pure functions)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from argos_transformer.text import lay_out, normalize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  The  small\tdog\u00a0 sleeps.  ", "The small dog sleeps."),
        ("Cafe\u0301 con leche", "Caf\u00e9 con leche"),  # NFC composes e + combining acute
        ("one\r\ntwo\rthree\u2028four", "one\ntwo\nthree\nfour"),
        ("para one\n\n\n\n  \npara two", "para one\n\npara two"),
        ("\n\n  lead and trail  \n\n", "lead and trail"),
        ("zero\u200bwidth\ufeff and \x00control\x07", "zerowidth and control"),
        ("line  \n   next", "line\nnext"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_short_lines_are_single_segments_and_breaks_are_kept() -> None:
    layout = lay_out("First line.\nSecond line.\n\nNew paragraph.", 100)
    assert layout.segments == ("First line.", "Second line.", "New paragraph.")
    assert layout.separators == ("\n", "\n\n", "")
    assert layout.join(["A", "B", "C"]) == "A\nB\n\nC"


def test_a_long_line_is_cut_at_sentence_ends_first() -> None:
    line = "The small dog sleeps. A girl reads the new book. The houses are white."
    layout = lay_out(line, 30)
    assert layout.segments == (
        "The small dog sleeps.", "A girl reads the new book.", "The houses are white.",
    )
    assert layout.join(["1", "2", "3"]) == "1 2 3"


def test_abbreviations_and_initials_do_not_end_a_sentence() -> None:
    layout = lay_out("Mr. Smith met J. Doe today. They talked.", 28)
    assert layout.segments == ("Mr. Smith met J. Doe today.", "They talked.")


def test_sentences_longer_than_the_limit_are_cut_at_spaces_then_anywhere() -> None:
    layout = lay_out("aaaa bbbb cccc " + "x" * 12, 9)
    assert all(len(segment) <= 9 for segment in layout.segments)
    assert layout.join(list(layout.segments)) == "aaaa bbbb cccc " + "x" * 12


def test_cjk_sentences_split_without_spaces() -> None:
    layout = lay_out("你好。世界。再见。", 4)
    assert layout.segments == ("你好。", "世界。", "再见。")
    assert layout.join(list(layout.segments)) == "你好。世界。再见。"


def test_join_checks_the_count() -> None:
    with pytest.raises(ValueError, match="expected 2 translations"):
        lay_out("a\nb", 10).join(["only one"])


text_strategy = st.lists(
    st.sampled_from([*"abc XYZ.!?\n\t\u00a0é\u0301。\r", "\r\n", "  ", "Mr. ", "\u200b"]),
    max_size=150,
).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=text_strategy, limit=st.integers(min_value=1, max_value=40))
def test_layout_round_trips_and_respects_the_limit(text: str, limit: int) -> None:
    normal = normalize(text)
    assert normalize(normal) == normal
    assert unicodedata.is_normalized("NFC", normal)
    layout = lay_out(normal, limit)
    assert layout.join(list(layout.segments)) == normal
    for segment in layout.segments:
        assert 0 < len(segment) <= limit
        assert segment == segment.strip()
        assert "\n" not in segment
