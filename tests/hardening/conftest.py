"""Real predictor and transformer processes for the hardening tests, started once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.predictor import RunningPredictor, start_kserve_predictor
from tests.transformer.conftest import RunningTransformer, start_transformer

# The dependency audit needs the vulnerability service; it is its own step (`make audit`), not
# part of `make test`, and is not collected there rather than skipped.
collect_ignore = [] if os.environ.get("ARGOS_AUDIT") == "1" else ["test_audit.py"]


@pytest.fixture(scope="session")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPredictor]:
    """The predictor with its default limits (256 texts, 10,000 characters, 16 MiB bodies)."""
    running = start_kserve_predictor(tmp_path_factory.mktemp("hardening-predictor"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def transformer(
    predictor: RunningPredictor, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningTransformer]:
    running = start_transformer(
        tmp_path_factory.mktemp("hardening-transformer"),
        f"127.0.0.1:{predictor.http_port}",
        "v1",
    )
    yield running
    running.server.stop()
