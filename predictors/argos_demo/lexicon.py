"""The demo domain's English→Spanish lexicon (domain/lexicon.tsv), parsed into typed entries."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

LEXICON_PATH = Path(__file__).resolve().parent / "domain" / "lexicon.tsv"

SINGULAR = "sg"
PLURAL = "pl"
MASCULINE = "m"
FEMININE = "f"


@dataclass(frozen=True)
class Noun:
    en_sg: str
    en_pl: str
    es_sg: str
    es_pl: str
    gender: str
    can_be_object: bool

    def en(self, number: str) -> str:
        return self.en_sg if number == SINGULAR else self.en_pl

    def es(self, number: str) -> str:
        return self.es_sg if number == SINGULAR else self.es_pl


@dataclass(frozen=True)
class Adjective:
    en: str
    es_m_sg: str
    es_f_sg: str
    es_m_pl: str
    es_f_pl: str

    def es(self, gender: str, number: str) -> str:
        return _agree(self.es_m_sg, self.es_f_sg, self.es_m_pl, self.es_f_pl, gender, number)


@dataclass(frozen=True)
class Verb:
    en_sg: str
    en_pl: str
    es_sg: str
    es_pl: str
    transitive: bool

    def en(self, number: str) -> str:
        return self.en_sg if number == SINGULAR else self.en_pl

    def es(self, number: str) -> str:
        return self.es_sg if number == SINGULAR else self.es_pl


@dataclass(frozen=True)
class Determiner:
    """`None` marks a form that does not exist (`a` has no plural)."""

    en_sg: str
    en_pl: str | None
    es_m_sg: str
    es_f_sg: str
    es_m_pl: str | None
    es_f_pl: str | None

    def has(self, number: str) -> bool:
        return number == SINGULAR or self.en_pl is not None

    def en(self, number: str) -> str:
        form = self.en_sg if number == SINGULAR else self.en_pl
        if form is None:
            raise ValueError(f"determiner {self.en_sg!r} has no {number} form")
        return form

    def es(self, gender: str, number: str) -> str:
        form = _agree(self.es_m_sg, self.es_f_sg, self.es_m_pl, self.es_f_pl, gender, number)
        if form is None:
            raise ValueError(f"determiner {self.en_sg!r} has no {gender}/{number} form")
        return form


@dataclass(frozen=True)
class Copula:
    en_sg: str
    en_pl: str
    es_sg: str
    es_pl: str

    def en(self, number: str) -> str:
        return self.en_sg if number == SINGULAR else self.en_pl

    def es(self, number: str) -> str:
        return self.es_sg if number == SINGULAR else self.es_pl


@dataclass(frozen=True)
class Lexicon:
    nouns: tuple[Noun, ...]
    adjectives: tuple[Adjective, ...]
    verbs: tuple[Verb, ...]
    determiners: tuple[Determiner, ...]
    copula: Copula

    @property
    def object_nouns(self) -> tuple[Noun, ...]:
        return tuple(noun for noun in self.nouns if noun.can_be_object)

    @property
    def transitive_verbs(self) -> tuple[Verb, ...]:
        return tuple(verb for verb in self.verbs if verb.transitive)

    @property
    def intransitive_verbs(self) -> tuple[Verb, ...]:
        return tuple(verb for verb in self.verbs if not verb.transitive)


def _agree(m_sg: str, f_sg: str, m_pl: str, f_pl: str, gender: str, number: str) -> str:
    if number == SINGULAR:
        return m_sg if gender == MASCULINE else f_sg
    return m_pl if gender == MASCULINE else f_pl


def _optional(form: str) -> str | None:
    return None if form == "-" else form


def _yes(flag: str) -> bool:
    if flag not in ("yes", "no"):
        raise ValueError(f"expected yes/no, got {flag!r}")
    return flag == "yes"


def parse_lexicon(text: str) -> Lexicon:
    """Parse the TSV; '#' lines are comments, the first column says what a row is."""
    nouns: list[Noun] = []
    adjectives: list[Adjective] = []
    verbs: list[Verb] = []
    determiners: list[Determiner] = []
    copulas: list[Copula] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        kind, *cells = line.split("\t")
        try:
            if kind == "noun":
                en_sg, en_pl, es_sg, es_pl, gender, obj = cells
                if gender not in (MASCULINE, FEMININE):
                    raise ValueError(f"unknown gender {gender!r}")
                nouns.append(Noun(en_sg, en_pl, es_sg, es_pl, gender, _yes(obj)))
            elif kind == "adj":
                en, _, m_sg, f_sg, m_pl, f_pl = cells
                adjectives.append(Adjective(en, m_sg, f_sg, m_pl, f_pl))
            elif kind == "verb":
                en_sg, en_pl, es_sg, es_pl, transitive = cells
                verbs.append(Verb(en_sg, en_pl, es_sg, es_pl, _yes(transitive)))
            elif kind == "det":
                en_sg, en_pl, m_sg, f_sg, m_pl, f_pl = (cell.strip() for cell in cells)
                determiners.append(
                    Determiner(
                        en_sg, _optional(en_pl), m_sg, f_sg, _optional(m_pl), _optional(f_pl)
                    )
                )
            elif kind == "cop":
                copulas.append(Copula(*cells))
            else:
                raise ValueError(f"unknown row kind {kind!r}")
        except (TypeError, ValueError) as error:
            raise ValueError(f"lexicon line {number}: {error}: {line!r}") from error
    if len(copulas) != 1:
        raise ValueError(f"lexicon needs exactly one copula row, found {len(copulas)}")
    return Lexicon(tuple(nouns), tuple(adjectives), tuple(verbs), tuple(determiners), copulas[0])


@cache
def load_lexicon(path: Path = LEXICON_PATH) -> Lexicon:
    return parse_lexicon(path.read_text(encoding="utf-8"))
