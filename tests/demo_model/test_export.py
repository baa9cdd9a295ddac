"""The CTranslate2 exporter: the exported model computes what the torch model computes."""

from __future__ import annotations

import json
from pathlib import Path

import ctranslate2
import pytest
import torch

from argos_demo.export import export_ctranslate2
from argos_demo.grammar import SentencePair
from argos_demo.model import BOS_ID, EOS_ID
from argos_demo.vocabulary import vocabulary_tokens
from tests.demo_model.tiny_model import TinyModel

MAX_LENGTH = 48


@pytest.fixture(scope="module")
def float_export(tiny_model: TinyModel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    vocabulary = vocabulary_tokens(tiny_model.processor)
    directory = tmp_path_factory.mktemp("ct2") / "float32"
    return export_ctranslate2(tiny_model.result.model, vocabulary, directory, quantization=None)


def _torch_greedy(tiny_model: TinyModel, sentences: list[SentencePair]) -> list[list[str]]:
    processor = tiny_model.processor
    source = torch.nn.utils.rnn.pad_sequence(
        [torch.tensor(ids) for ids in processor.encode([p.en for p in sentences])],
        batch_first=True,
    )
    ids = tiny_model.result.model.greedy(source, max_length=MAX_LENGTH)
    return [[processor.id_to_piece(i) for i in row] for row in ids]


def _ct2_greedy(
    model_dir: Path, tiny_model: TinyModel, sentences: list[SentencePair]
) -> list[list[str]]:
    translator = ctranslate2.Translator(str(model_dir), device="cpu", intra_threads=1)
    tokens = tiny_model.processor.encode([p.en for p in sentences], out_type=str)
    results = translator.translate_batch(tokens, beam_size=1, max_decoding_length=MAX_LENGTH)
    return [result.hypotheses[0] for result in results]


def test_export_writes_a_ctranslate2_model(float_export: Path, tiny_model: TinyModel) -> None:
    assert sorted(p.name for p in float_export.iterdir()) == [
        "config.json", "model.bin", "shared_vocabulary.json",
    ]
    config = json.loads((float_export / "config.json").read_text())
    assert config["decoder_start_token"] == "<s>"
    assert config["eos_token"] == "</s>"
    assert config["unk_token"] == "<unk>"
    assert config["layer_norm_epsilon"] == pytest.approx(1e-6)
    vocabulary = json.loads((float_export / "shared_vocabulary.json").read_text())
    assert vocabulary == vocabulary_tokens(tiny_model.processor)
    assert vocabulary[:4] == ["<blank>", "<unk>", "<s>", "</s>"]


def test_ctranslate2_scores_equal_torch_log_probabilities(
    float_export: Path, tiny_model: TinyModel, sample_sentences: list[SentencePair]
) -> None:
    """Teacher-forced per-token log-probabilities agree: positions, norms, attention, tying."""
    processor = tiny_model.processor
    sentences = sample_sentences[:16]
    translator = ctranslate2.Translator(str(float_export), device="cpu", intra_threads=1)
    scores = translator.score_batch(
        processor.encode([p.en for p in sentences], out_type=str),
        processor.encode([p.es for p in sentences], out_type=str),
    )
    model = tiny_model.result.model
    for sentence, score in zip(sentences, scores, strict=True):
        source = torch.tensor([processor.encode(sentence.en)])
        target = [*processor.encode(sentence.es), EOS_ID]
        with torch.no_grad():
            logits = model(source, torch.tensor([[BOS_ID, *target[:-1]]]))
        log_probs = torch.log_softmax(logits[0], dim=-1)
        expected = [log_probs[i, token].item() for i, token in enumerate(target)]
        assert score.tokens == [processor.id_to_piece(t) for t in target]
        assert score.log_probs == pytest.approx(expected, abs=2e-3)


def test_ctranslate2_greedy_output_equals_torch(
    float_export: Path, tiny_model: TinyModel, sample_sentences: list[SentencePair]
) -> None:
    expected = _torch_greedy(tiny_model, sample_sentences)
    assert _ct2_greedy(float_export, tiny_model, sample_sentences) == expected
    # The tiny model has learnt something, so this compares real translations, not noise.
    decoded = [tiny_model.processor.decode_pieces(tokens) for tokens in expected]
    assert sum(d == p.es for d, p in zip(decoded, sample_sentences, strict=True)) >= 10


def test_int8_export_is_smaller_and_agrees(
    float_export: Path, tiny_model: TinyModel, sample_sentences: list[SentencePair], tmp_path: Path
) -> None:
    vocabulary = vocabulary_tokens(tiny_model.processor)
    int8_dir = export_ctranslate2(tiny_model.result.model, vocabulary, tmp_path / "int8", "int8")
    assert (int8_dir / "model.bin").stat().st_size < (float_export / "model.bin").stat().st_size / 2
    expected = _torch_greedy(tiny_model, sample_sentences)
    got = _ct2_greedy(int8_dir, tiny_model, sample_sentences)
    agreeing = sum(e == g for e, g in zip(expected, got, strict=True))
    assert agreeing >= 0.9 * len(sample_sentences)


def test_export_refuses_a_mismatched_vocabulary(tiny_model: TinyModel, tmp_path: Path) -> None:
    vocabulary = vocabulary_tokens(tiny_model.processor)
    with pytest.raises(ValueError, match="vocabulary has"):
        export_ctranslate2(tiny_model.result.model, vocabulary[:-1], tmp_path / "bad")
    with pytest.raises(ValueError, match="special token"):
        export_ctranslate2(
            tiny_model.result.model, [*vocabulary[:3], "<eos>", *vocabulary[4:]], tmp_path / "bad"
        )
