"""Fixtures for the demo model: the committed artifact and one tiny, quickly trained model."""

from __future__ import annotations

from pathlib import Path

import pytest

from argos_demo.grammar import SentencePair, sample_pairs
from argos_demo.paths import ARTIFACT_PATH
from tests.demo_model.tiny_model import TinyModel, train_tiny_model


@pytest.fixture(scope="session")
def artifact() -> Path:
    if not ARTIFACT_PATH.is_file():
        pytest.fail(f"the committed demo model is missing: {ARTIFACT_PATH} (run `make demo-model`)")
    return ARTIFACT_PATH


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> TinyModel:
    return train_tiny_model(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="session")
def sample_sentences() -> list[SentencePair]:
    return sample_pairs(seed=99, count=64)
