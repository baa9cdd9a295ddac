"""The demo domain's sentence patterns: build, realise (English and Spanish), parse and sample.

NP = DET [ADJ] NOUN (singular or plural). Spanish puts the adjective after the noun; determiner
and adjective agree with the noun in gender and number; the verb agrees with the subject in
number; `a` has no plural and is `an` before a vowel. Patterns: intransitive `NP V.`,
transitive `NP V_tr NP_obj.` (object nouns only), copula `NP COP ADJ.` (adjective agrees with
the subject).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from argos_demo.lexicon import (
    PLURAL,
    SINGULAR,
    Adjective,
    Determiner,
    Lexicon,
    Noun,
    Verb,
    load_lexicon,
)

VOWELS = frozenset("aeiou")


class Pattern(StrEnum):
    INTRANSITIVE = "intransitive"
    TRANSITIVE = "transitive"
    COPULA = "copula"


# Sampling weights: the transitive pattern has two noun phrases, so it gets more examples.
PATTERN_WEIGHTS: dict[Pattern, float] = {
    Pattern.INTRANSITIVE: 0.25,
    Pattern.TRANSITIVE: 0.5,
    Pattern.COPULA: 0.25,
}
ADJECTIVE_PROBABILITY = 0.5


@dataclass(frozen=True)
class NounPhrase:
    determiner: Determiner
    adjective: Adjective | None
    noun: Noun
    number: str

    def __post_init__(self) -> None:
        if not self.determiner.has(self.number):
            raise ValueError(f"determiner {self.determiner.en_sg!r} has no {self.number} form")

    def en(self) -> str:
        words = [self.adjective.en] if self.adjective else []
        words.append(self.noun.en(self.number))
        determiner = self.determiner.en(self.number)
        if determiner == "a" and words[0][0] in VOWELS:
            determiner = "an"
        return " ".join([determiner, *words])

    def es(self) -> str:
        gender = self.noun.gender
        words = [self.determiner.es(gender, self.number), self.noun.es(self.number)]
        if self.adjective:
            words.append(self.adjective.es(gender, self.number))
        return " ".join(words)


@dataclass(frozen=True)
class Sentence:
    pattern: Pattern
    subject: NounPhrase
    verb: Verb | None = None
    obj: NounPhrase | None = None
    predicate: Adjective | None = None

    def __post_init__(self) -> None:
        expected = {
            Pattern.INTRANSITIVE: (True, False, False),
            Pattern.TRANSITIVE: (True, True, False),
            Pattern.COPULA: (False, False, True),
        }[self.pattern]
        present = (self.verb is not None, self.obj is not None, self.predicate is not None)
        if present != expected:
            raise ValueError(f"{self.pattern.value} sentence with parts {present}")
        if self.verb is not None and self.verb.transitive != (self.pattern is Pattern.TRANSITIVE):
            raise ValueError(
                f"verb {self.verb.en_sg!r} does not fit the {self.pattern.value} pattern"
            )
        if self.obj is not None and not self.obj.noun.can_be_object:
            raise ValueError(f"noun {self.obj.noun.en_sg!r} cannot be an object")

    def en(self) -> str:
        number = self.subject.number
        words = [self.subject.en()]
        if self.pattern is Pattern.COPULA:
            words += [load_lexicon().copula.en(number), self.predicate.en]
        else:
            words.append(self.verb.en(number))
            if self.obj is not None:
                words.append(self.obj.en())
        return _sentence_case(" ".join(words))

    def es(self) -> str:
        number = self.subject.number
        words = [self.subject.es()]
        if self.pattern is Pattern.COPULA:
            gender = self.subject.noun.gender
            words += [load_lexicon().copula.es(number), self.predicate.es(gender, number)]
        else:
            words.append(self.verb.es(number))
            if self.obj is not None:
                words.append(self.obj.es())
        return _sentence_case(" ".join(words))


@dataclass(frozen=True)
class SentencePair:
    en: str
    es: str


# The domain README's examples: the model must translate these exactly.
README_EXAMPLES: tuple[SentencePair, ...] = (
    SentencePair("The small dog sleeps.", "El perro pequeño duerme."),
    SentencePair("A girl reads the new book.", "Una niña lee el libro nuevo."),
    SentencePair("The houses are white.", "Las casas son blancas."),
    SentencePair("My friends buy the red apples.", "Mis amigos compran las manzanas rojas."),
    SentencePair("This old man has a blue car.", "Este hombre viejo tiene un coche azul."),
    SentencePair("These happy women sing.", "Estas mujeres felices cantan."),
    SentencePair("The cat sees a beautiful flower.", "El gato ve una flor hermosa."),
    SentencePair("My city is big.", "Mi ciudad es grande."),
)


def _sentence_case(text: str) -> str:
    return text[0].upper() + text[1:] + "."


def pair(sentence: Sentence) -> SentencePair:
    return SentencePair(sentence.en(), sentence.es())


# --- parsing English back into the grammar (the reference translator) ---------------------------


class NotInDomain(ValueError):
    """The English sentence is not one of the demo domain's patterns."""


def parse_english(text: str, lexicon: Lexicon | None = None) -> Sentence:
    """Parse one domain sentence, e.g. "The small dog sleeps.", into its grammar tree."""
    try:
        return _parse_sentence(text, lexicon or load_lexicon())
    except NotInDomain:
        raise
    except ValueError as error:  # a tree the patterns forbid, e.g. a non-object noun as object
        raise NotInDomain(f"{error}: {text!r}") from error


def _parse_sentence(text: str, lexicon: Lexicon) -> Sentence:
    if not text.endswith(".") or not text[:1].isupper():
        raise NotInDomain(f"not capitalised and period-terminated: {text!r}")
    words = text[:-1].split(" ")
    words[0] = words[0][0].lower() + words[0][1:]
    subject, rest = _parse_noun_phrase(words, lexicon)
    if not rest:
        raise NotInDomain(f"no verb in {text!r}")
    head, tail = rest[0], rest[1:]
    copula = lexicon.copula
    if head in (copula.en_sg, copula.en_pl):
        _expect_number(head == copula.en_sg, subject, text)
        if len(tail) != 1:
            raise NotInDomain(f"copula needs exactly one adjective: {text!r}")
        return Sentence(Pattern.COPULA, subject, predicate=_adjective(tail[0], lexicon, text))
    verb = _verb(head, lexicon, text)
    _expect_number(head == verb.en_sg, subject, text)
    if not verb.transitive:
        if tail:
            raise NotInDomain(f"intransitive verb {head!r} followed by {tail!r}")
        return Sentence(Pattern.INTRANSITIVE, subject, verb=verb)
    obj, leftover = _parse_noun_phrase(tail, lexicon)
    if leftover:
        raise NotInDomain(f"unexpected words {leftover!r} in {text!r}")
    return Sentence(Pattern.TRANSITIVE, subject, verb=verb, obj=obj)


def _parse_noun_phrase(words: list[str], lexicon: Lexicon) -> tuple[NounPhrase, list[str]]:
    if len(words) < 2:
        raise NotInDomain(f"incomplete noun phrase {words!r}")
    article = "a" if words[0] == "an" else words[0]
    determiner = next(
        (d for d in lexicon.determiners if article in (d.en_sg, d.en_pl)), None
    )
    if determiner is None:
        raise NotInDomain(f"unknown determiner {words[0]!r}")
    adjective = next((a for a in lexicon.adjectives if a.en == words[1]), None)
    noun_index = 2 if adjective else 1
    if len(words) <= noun_index:
        raise NotInDomain(f"noun phrase without a noun: {words!r}")
    noun_word = words[noun_index]
    noun = next((n for n in lexicon.nouns if noun_word in (n.en_sg, n.en_pl)), None)
    if noun is None:
        raise NotInDomain(f"unknown noun {noun_word!r}")
    number = SINGULAR if noun_word == noun.en_sg else PLURAL
    try:
        phrase = NounPhrase(determiner, adjective, noun, number)
    except ValueError as error:
        raise NotInDomain(str(error)) from error
    if phrase.en().split(" ") != words[: noun_index + 1]:
        raise NotInDomain(f"disagreeing noun phrase {' '.join(words[: noun_index + 1])!r}")
    return phrase, words[noun_index + 1 :]


def _verb(word: str, lexicon: Lexicon, text: str) -> Verb:
    verb = next((v for v in lexicon.verbs if word in (v.en_sg, v.en_pl)), None)
    if verb is None:
        raise NotInDomain(f"unknown verb {word!r} in {text!r}")
    return verb


def _adjective(word: str, lexicon: Lexicon, text: str) -> Adjective:
    adjective = next((a for a in lexicon.adjectives if a.en == word), None)
    if adjective is None:
        raise NotInDomain(f"unknown adjective {word!r} in {text!r}")
    return adjective


def _expect_number(singular_form: bool, subject: NounPhrase, text: str) -> None:
    if singular_form != (subject.number == SINGULAR):
        raise NotInDomain(f"verb does not agree with the subject in {text!r}")


def reference_translation(english: str) -> str:
    """The grammar's Spanish for a domain sentence (raises NotInDomain otherwise)."""
    return parse_english(english).es()


# --- seeded sampling ----------------------------------------------------------------------------


class SentenceSampler:
    """Draws random domain sentences; the same seed always gives the same sequence."""

    def __init__(self, seed: int, lexicon: Lexicon | None = None) -> None:
        self.random = random.Random(seed)
        self.lexicon = lexicon or load_lexicon()
        self._patterns = list(PATTERN_WEIGHTS)
        self._weights = [PATTERN_WEIGHTS[p] for p in self._patterns]

    def noun_phrase(self, nouns: tuple[Noun, ...]) -> NounPhrase:
        rng = self.random
        number = rng.choice((SINGULAR, PLURAL))
        determiner = rng.choice([d for d in self.lexicon.determiners if d.has(number)])
        adjective = (
            rng.choice(self.lexicon.adjectives) if rng.random() < ADJECTIVE_PROBABILITY else None
        )
        return NounPhrase(determiner, adjective, rng.choice(nouns), number)

    def sentence(self) -> Sentence:
        rng, lexicon = self.random, self.lexicon
        pattern = rng.choices(self._patterns, self._weights)[0]
        subject = self.noun_phrase(lexicon.nouns)
        if pattern is Pattern.INTRANSITIVE:
            return Sentence(pattern, subject, verb=rng.choice(lexicon.intransitive_verbs))
        if pattern is Pattern.TRANSITIVE:
            verb = rng.choice(lexicon.transitive_verbs)
            return Sentence(pattern, subject, verb=verb, obj=self.noun_phrase(lexicon.object_nouns))
        return Sentence(pattern, subject, predicate=rng.choice(lexicon.adjectives))


def sample_pairs(
    seed: int, count: int, exclude: set[str] | frozenset[str] = frozenset()
) -> list[SentencePair]:
    """`count` distinct pairs whose English side is not in `exclude`, in sampling order."""
    seen = set(exclude)
    result: list[SentencePair] = []
    sampler = SentenceSampler(seed)
    max_attempts = 100 * count + 1000
    for _ in range(max_attempts):
        if len(result) >= count:
            break
        candidate = pair(sampler.sentence())
        if candidate.en not in seen:
            seen.add(candidate.en)
            result.append(candidate)
    if len(result) < count:
        raise RuntimeError(f"could only sample {len(result)} of {count} distinct sentences")
    return result
