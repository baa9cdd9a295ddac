"""Real servers for the MLServer front end: MLServer itself and the KServe predictor to compare."""

from collections.abc import Iterator

import pytest

from tests.mlserver.model_dirs import two_pair_model_dir
from tests.mlserver.servers import RunningMLServer, kserve_style_env, start_mlserver
from tests.support.predictor import RunningPredictor, start_kserve_predictor


@pytest.fixture(scope="session")
def mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMLServer]:
    """The shipped settings folder as `make run-mlserver` serves it: the embedded model."""
    running = start_mlserver(tmp_path_factory.mktemp("mlserver"), extra={"max_wait_ms": 20})
    yield running
    running.stop()


@pytest.fixture(scope="session")
def kserve_predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPredictor]:
    """The KServe front end over the same core and model, with the same engine settings."""
    running = start_kserve_predictor(
        tmp_path_factory.mktemp("kserve-compare"), "--max_wait_ms", "20"
    )
    yield running
    running.stop()


# Batching window and queue bound of the KServe-style server: long enough that concurrent
# requests meet in one batch, and small enough that an overload can be provoked on purpose.
BATCH_WAIT_MS = 1000
QUEUE_LIMIT = 48


@pytest.fixture(scope="session")
def kserve_style_mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMLServer]:
    """Started the way a KServe ServingRuntime starts it: `mlserver start <model dir>`, the model
    described only by MLSERVER_* variables. The model dir holds two pairs (en->es, xx->en;
    xx->es pivots through English)."""
    root = tmp_path_factory.mktemp("mlserver-kserve-style")
    model_dir = two_pair_model_dir(root)
    running = start_mlserver(
        root / "server",
        model_dir,
        model_uri=model_dir,
        extra={"max_wait_ms": BATCH_WAIT_MS, "max_queue_sentences": QUEUE_LIMIT},
        env=kserve_style_env(),
    )
    yield running
    running.stop()
