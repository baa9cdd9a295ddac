"""Synthetic parallel corpora: training, development and evaluation sets with disjoint sentences."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass

from argos_demo.grammar import README_EXAMPLES, SentencePair, sample_pairs

EVAL_SEED = 20_300
EVAL_SIZE = 300


@dataclass(frozen=True)
class CorpusSpec:
    """Everything needed to regenerate the training and development sets exactly."""

    train_seed: int = 1
    train_size: int = 40_000
    dev_seed: int = 2
    dev_size: int = 400

    def to_dict(self) -> dict:
        return asdict(self)


def training_pairs(spec: CorpusSpec) -> list[SentencePair]:
    """The README examples plus `train_size` sampled distinct sentences."""
    examples = list(README_EXAMPLES)
    sampled = sample_pairs(
        spec.train_seed, spec.train_size - len(examples), exclude={p.en for p in examples}
    )
    return examples + sampled


def held_out_pairs(seed: int, count: int, training: list[SentencePair]) -> list[SentencePair]:
    """Fresh sentences from another seed, none of which is in the training set."""
    return sample_pairs(seed, count, exclude={p.en for p in training})


def development_pairs(spec: CorpusSpec, training: list[SentencePair]) -> list[SentencePair]:
    return held_out_pairs(spec.dev_seed, spec.dev_size, training)


def corpus_digest(pairs: list[SentencePair]) -> str:
    """sha256 over the pairs, to check that a regenerated corpus is the one a model saw."""
    digest = hashlib.sha256()
    for p in pairs:
        digest.update(f"{p.en}\t{p.es}\n".encode())
    return digest.hexdigest()
