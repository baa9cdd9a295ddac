"""The domain grammar: README examples, agreement rules, seeded sampling, disjoint splits."""

from __future__ import annotations

import pytest

from argos_demo.corpus import EVAL_SEED, CorpusSpec, held_out_pairs, training_pairs
from argos_demo.grammar import (
    README_EXAMPLES,
    NotInDomain,
    SentenceSampler,
    parse_english,
    reference_translation,
    sample_pairs,
)
from argos_demo.lexicon import load_lexicon
from tests.conftest import DEMO_EXAMPLES


def test_lexicon_copy_is_complete() -> None:
    lexicon = load_lexicon()
    assert (len(lexicon.nouns), len(lexicon.adjectives), len(lexicon.verbs)) == (24, 12, 12)
    assert [d.en_sg for d in lexicon.determiners] == ["the", "a", "my", "this"]
    assert len(lexicon.object_nouns) == 15
    assert lexicon.copula.es_pl == "son"


def test_readme_examples_are_the_suites() -> None:
    assert [(p.en, p.es) for p in README_EXAMPLES] == DEMO_EXAMPLES


@pytest.mark.parametrize(("english", "spanish"), DEMO_EXAMPLES)
def test_grammar_reproduces_readme_examples(english: str, spanish: str) -> None:
    sentence = parse_english(english)
    assert sentence.en() == english
    assert sentence.es() == spanish


@pytest.mark.parametrize(
    ("english", "spanish"),
    [
        ("An old car is red.", "Un coche viejo es rojo."),
        ("An apple waits.", "Una manzana espera."),
        ("A man eats an apple.", "Un hombre come una manzana."),
        ("These big trees are green.", "Estos árboles grandes son verdes."),
        ("My old windows are small.", "Mis ventanas viejas son pequeñas."),
        ("The happy women have the songs.", "Las mujeres felices tienen las canciones."),
    ],
)
def test_agreement_rules(english: str, spanish: str) -> None:
    assert reference_translation(english) == spanish


@pytest.mark.parametrize(
    "english",
    [
        "A apple waits.",  # `an` before a vowel
        "An dog sleeps.",  # and only there
        "A dogs sleep.",  # `a` has no plural
        "The dog sleep.",  # verb agreement
        "The dogs is big.",  # copula agreement
        "The dog eats the cat.",  # cat is not an object noun
        "The dog sleeps the book.",  # intransitive verb with an object
        "The dog eats.",  # transitive verb without an object
        "the dog sleeps.",  # not capitalised
        "The dog sleeps",  # no period
        "The unicorn sleeps.",  # not in the lexicon
    ],
)
def test_parser_rejects_sentences_outside_the_domain(english: str) -> None:
    with pytest.raises(NotInDomain):
        parse_english(english)


def test_sampled_sentences_follow_the_grammar() -> None:
    pairs = sample_pairs(seed=5, count=2000)
    patterns = set()
    for pair in pairs:
        sentence = parse_english(pair.en)
        patterns.add(sentence.pattern)
        assert sentence.en() == pair.en
        assert sentence.es() == pair.es
        assert pair.en[0].isupper() and pair.es[0].isupper()
        assert pair.en.endswith(".") and pair.es.endswith(".")
    assert len(patterns) == 3
    assert len({p.en for p in pairs}) == len(pairs)


def test_sampling_is_seeded() -> None:
    assert sample_pairs(seed=3, count=50) == sample_pairs(seed=3, count=50)
    assert sample_pairs(seed=3, count=50) != sample_pairs(seed=4, count=50)
    assert SentenceSampler(3).sentence().en() == sample_pairs(seed=3, count=1)[0].en


def test_training_set_contains_examples_and_excludes_held_out_sentences() -> None:
    corpus = CorpusSpec(train_seed=1, train_size=5000)
    training = training_pairs(corpus)
    assert training[: len(README_EXAMPLES)] == list(README_EXAMPLES)
    assert len({p.en for p in training}) == 5000
    fresh = held_out_pairs(EVAL_SEED, 300, training)
    assert len(fresh) == 300
    assert not {p.en for p in fresh} & {p.en for p in training}
