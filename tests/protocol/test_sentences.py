from hypothesis import given
from hypothesis import strategies as st

from argos_protocol.sentences import split_sentences


def test_splits_sentences_and_keeps_whitespace() -> None:
    text = "  The cat sleeps. The dog runs!\n\nMy city is big?  Yes "
    split = split_sentences(text)
    assert split.sentences == ["The cat sleeps.", "The dog runs!", "My city is big?", "Yes"]
    assert split.leading == "  "
    assert split.separators == [" ", "\n\n", "  ", " "]
    assert split.join(split.sentences) == text


def test_does_not_split_abbreviations_initials_or_lowercase_continuations() -> None:
    split = split_sentences("Dr. Smith met J. Doe at 3 p.m. today. Then e.g. nothing.")
    assert split.sentences == ["Dr. Smith met J. Doe at 3 p.m. today.", "Then e.g. nothing."]


def test_line_breaks_always_end_a_segment() -> None:
    assert split_sentences("a title\nbody text").sentences == ["a title", "body text"]


def test_cjk_terminators_split_without_spaces() -> None:
    assert split_sentences("你好。再见！").sentences == ["你好。", "再见！"]


def test_empty_and_blank_texts_have_no_sentences() -> None:
    assert split_sentences("").sentences == []
    blank = split_sentences(" \n ")
    assert blank.sentences == [] and blank.join([]) == " \n "


@given(st.text(max_size=300))
def test_join_of_the_sentences_is_the_text(text: str) -> None:
    split = split_sentences(text)
    assert split.join(split.sentences) == text
    assert all(sentence.strip() for sentence in split.sentences)
