"""The three V2 servers users call: the KServe predictor, the MLServer predictor, and the
transformer in front of the KServe predictor; one of each per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mlserver.servers import start_mlserver
from tests.support.predictor import start_kserve_predictor
from tests.support.processes import RunningServer
from tests.transformer.conftest import start_transformer

SERVERS = ("kserve", "mlserver", "transformer")


@pytest.fixture(scope="session")
def kserve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_kserve_predictor(tmp_path_factory.mktemp("clients-kserve"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def mlserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    running = start_mlserver(tmp_path_factory.mktemp("clients-mlserver"))
    yield running
    running.stop()


@pytest.fixture(scope="session")
def transformer(
    kserve: RunningServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    running = start_transformer(
        tmp_path_factory.mktemp("clients-transformer"), f"127.0.0.1:{kserve.http_port}", "v1"
    )
    yield running
    running.stop()


@pytest.fixture(params=SERVERS)
def server(request: pytest.FixtureRequest) -> RunningServer:
    return request.getfixturevalue(request.param)
