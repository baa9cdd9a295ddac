"""`docker stop` during load: every request a container accepted before the stop is answered
(200, exact translation), and the container exits well within the grace period. The load, the
acceptance checks and the verdict are tests/hardening/test_shutdown.py's, given a container
instead of a process (the container's SIGTERM is `docker stop`)."""

from __future__ import annotations

import json

from tests.hardening.test_shutdown import (
    BIG_QUEUE,
    ENGINE,
    assert_kserve_predictor_drains,
    assert_mlserver_drains,
    assert_transformer_drains,
)
from tests.images.conftest import Start, mlserver_env, start_kserve
from tests.support.processes import free_port


async def test_kserve_predictor_container(start: Start) -> None:
    predictor = start_kserve(start, *BIG_QUEUE)
    try:
        await assert_kserve_predictor_drains(
            "kserve predictor container", predictor.container, predictor.base_url,
            predictor.grpc_target,
        )
    finally:
        predictor.stop()


async def test_mlserver_container(start: Start) -> None:
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    env = mlserver_env(http_port, grpc_port, metrics_port)
    env["MLSERVER_MODEL_EXTRA"] = json.dumps({**ENGINE, "max_wait_ms": 5})
    mlserver = start(
        "mlserver-predictor", "/v2/models/translator/ready", env=env,
        http_port=http_port, grpc_port=grpc_port, metrics_port=metrics_port,
    )
    try:
        await assert_mlserver_drains(
            "mlserver container", mlserver.container,
            f"{mlserver.base_url}/v2/models/translator/infer", mlserver.metrics_url,
        )
    finally:
        mlserver.stop()


async def test_transformer_container(start: Start) -> None:
    predictor = start_kserve(start, *BIG_QUEUE)
    transformer = None
    try:
        http_port, grpc_port = free_port(), free_port()
        transformer = start(
            "transformer", "/v2/models/translator/ready",
            ["--model_name", "translator", "--predictor_protocol", "v1",
             "--predictor_host", f"127.0.0.1:{predictor.http_port}", "--bind_host", "127.0.0.1",
             "--http_port", str(http_port), "--grpc_port", str(grpc_port)],
            http_port=http_port, grpc_port=grpc_port,
        )
        await assert_transformer_drains(
            "transformer container", transformer.container, transformer.base_url,
            predictor.base_url, predictor.container,
        )
        assert predictor.container.alive()
    finally:
        if transformer is not None:
            transformer.stop()
        predictor.stop()
