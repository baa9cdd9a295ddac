from collections.abc import Iterator

import pytest

from tests.support.predictor import RunningPredictor, start_kserve_predictor


@pytest.fixture(scope="session")
def predictor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPredictor]:
    running = start_kserve_predictor(tmp_path_factory.mktemp("kserve"), "--max_wait_ms", "20")
    yield running
    running.stop()
