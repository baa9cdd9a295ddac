"""A tiny, quickly trained model shared by the training and exporter tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import sentencepiece as spm

from argos_demo.corpus import CorpusSpec, training_pairs
from argos_demo.grammar import SentencePair
from argos_demo.model import ModelConfig
from argos_demo.training import TrainingConfig, TrainingResult, train
from argos_demo.vocabulary import load_processor, train_sentencepiece

TINY_CORPUS = CorpusSpec(train_seed=11, train_size=3000)
TINY_MODEL = ModelConfig(
    vocab_size=0, d_model=64, num_heads=4, ffn_dim=128, encoder_layers=2, decoder_layers=2,
    dropout=0.0,
)
TINY_TRAINING = TrainingConfig(
    max_steps=400, batch_size=64, learning_rate=2e-3, warmup_steps=50, eval_every=100,
    stop_at_dev_exact=None, threads=1, seed=7,
)


@dataclasses.dataclass
class TinyModel:
    processor: spm.SentencePieceProcessor
    vocabulary_path: Path
    train_pairs: list[SentencePair]
    result: TrainingResult


def train_tiny_model(work_dir: Path) -> TinyModel:
    """A 2+2-layer d=64 model trained for a few hundred steps: enough to be confident."""
    pairs = training_pairs(TINY_CORPUS)
    vocabulary_path = train_sentencepiece(
        (s for p in pairs for s in (p.en, p.es)), work_dir / "sentencepiece.model"
    )
    processor = load_processor(vocabulary_path)
    config = dataclasses.replace(TINY_MODEL, vocab_size=processor.get_piece_size())
    result = train(config, TINY_TRAINING, processor, pairs, progress=False)
    return TinyModel(processor, vocabulary_path, pairs, result)
