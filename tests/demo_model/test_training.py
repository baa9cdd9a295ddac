"""A short training run learns, and fixed seeds make training reproducible."""

from __future__ import annotations

import dataclasses

import torch

from argos_demo.training import exact_match, greedy_translate, train
from tests.demo_model.tiny_model import TINY_MODEL, TINY_TRAINING, TinyModel


def test_short_training_run_lowers_the_loss(tiny_model: TinyModel) -> None:
    result = tiny_model.result
    assert result.steps == TINY_TRAINING.max_steps
    curve = [loss for _, loss in result.loss_curve]
    assert len(curve) == TINY_TRAINING.max_steps // TINY_TRAINING.eval_every
    assert result.first_loss > 4.0  # about ln(vocabulary size) before learning
    assert result.final_loss < result.first_loss / 3
    assert curve[-1] < curve[0]


def test_short_training_run_learns_to_translate(tiny_model: TinyModel) -> None:
    pairs = tiny_model.train_pairs[:100]
    model, processor = tiny_model.result.model, tiny_model.processor
    hypotheses = greedy_translate(model, processor, [p.en for p in pairs])
    assert exact_match(hypotheses, [p.es for p in pairs]) > 0.3


def test_fixed_seeds_reproduce_the_weights(tiny_model: TinyModel) -> None:
    config = dataclasses.replace(TINY_MODEL, vocab_size=tiny_model.processor.get_piece_size())
    short = dataclasses.replace(TINY_TRAINING, max_steps=15, eval_every=15)
    pairs = tiny_model.train_pairs[:500]
    processor = tiny_model.processor
    first = train(config, short, processor, pairs, progress=False).model.state_dict()
    second = train(config, short, processor, pairs, progress=False).model.state_dict()
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)
    other_seed = dataclasses.replace(short, seed=short.seed + 1)
    third = train(config, other_seed, processor, pairs, progress=False).model.state_dict()
    assert not torch.equal(first["embedding.weight"], third["embedding.weight"])
