"""`python -m argos_demo eval` passes the committed artifact and fails a weak model."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

from argos_demo.argos_package import write_argos_package
from argos_demo.corpus import corpus_digest
from argos_demo.export import export_ctranslate2
from argos_demo.training import train
from argos_demo.vocabulary import vocabulary_tokens
from tests.demo_model.tiny_model import TINY_CORPUS, TINY_TRAINING, TinyModel


def _eval(package: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARGOS_EXTRACT_DIR": str(tmp_path / "extract")}
    return subprocess.run(
        [sys.executable, "-m", "argos_demo", "eval", "--package", str(package)],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )


def test_eval_passes_the_artifact(artifact: Path, tmp_path: Path) -> None:
    completed = _eval(artifact, tmp_path)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "PASS: exact match" in completed.stdout
    assert "BLEU" in completed.stdout
    assert "event=evaluation" in completed.stderr


def test_eval_fails_a_weak_model(tiny_model: TinyModel, tmp_path: Path) -> None:
    """A barely trained model is far below the bar: eval must say so and exit non-zero."""
    config = tiny_model.result.model.config
    barely = dataclasses.replace(TINY_TRAINING, max_steps=60, eval_every=60)
    weak = train(config, barely, tiny_model.processor, tiny_model.train_pairs, progress=False)
    model_dir = export_ctranslate2(
        weak.model, vocabulary_tokens(tiny_model.processor), tmp_path / "model"
    )
    record = {
        "corpus": TINY_CORPUS.to_dict(),
        "training_sentences": len(tiny_model.train_pairs),
        "training_digest": corpus_digest(tiny_model.train_pairs),
        "model": config.to_dict(),
        "export": {"quantization": "int8"},
    }
    package = write_argos_package(
        tmp_path / "weak.argosmodel", model_dir, tiny_model.vocabulary_path, record
    )
    completed = _eval(package, tmp_path)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "FAIL: exact match" in completed.stdout


def test_eval_without_a_package_explains(tmp_path: Path) -> None:
    completed = _eval(tmp_path / "missing.argosmodel", tmp_path)
    assert completed.returncode == 2
    assert "make demo-model" in completed.stderr
