"""The sentences every measurement translates: the same list for the engine, the servers and
the baselines, so their outputs can be compared one to one.

Demo model: distinct sentences of the demo domain (with the grammar's reference translation).
Real-size model: longer sentences (three demo clauses joined), about 25 SentencePiece tokens,
the length of a typical sentence a real Argos model gets.
"""

from __future__ import annotations

from dataclasses import dataclass

from argos_demo.grammar import sample_pairs

WORKLOAD_SEED = 61_000


@dataclass(frozen=True)
class Workload:
    model: str
    sentences: tuple[str, ...]
    references: tuple[str, ...] | None

    def text(self, index: int) -> str:
        return self.sentences[index % len(self.sentences)]


def demo_workload(count: int) -> Workload:
    pairs = sample_pairs(WORKLOAD_SEED, count)
    return Workload("demo", tuple(p.en for p in pairs), tuple(p.es for p in pairs))


def argos_size_workload(count: int) -> Workload:
    pairs = sample_pairs(WORKLOAD_SEED + 1, 3 * count)
    clauses = [p.en.rstrip(".") for p in pairs]
    sentences = []
    for index in range(count):
        first, second, third = clauses[3 * index : 3 * index + 3]
        sentences.append(f"{first}, {_lower_first(second)} and {_lower_first(third)}.")
    return Workload("argos_size", tuple(sentences), None)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def workload_for(model: str, count: int) -> Workload:
    if model == "demo":
        return demo_workload(count)
    if model == "argos_size":
        return argos_size_workload(count)
    raise ValueError(f"unknown model {model!r}")
