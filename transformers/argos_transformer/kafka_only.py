"""Kafka-only mode: the transformer as an ingestion worker, with no HTTP front door.

`python -m argos_transformer --kafka_only --predictor_host HOST:PORT` (Kafka from the same
`KAFKA_*` settings) consumes, translates through the predictor and produces like the bridge in
the HTTP transformer, and serves only what an orchestrator asks of a worker on `--http_port`:

- `GET /v2/health/live`: 200 while ingestion runs (503 once it has stopped),
- `GET /v2/health/ready`: 200 once connected to the brokers and consuming,
- `GET /metrics`: Prometheus (the `argos_kafka_*` and predictor-client metrics).

SIGTERM (scale-in) drains the bridge while these still answer, then the server stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Any

import uvicorn
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from argos_protocol.garbage_collection import collect_for_serving
from argos_transformer.kafka.bridge import KafkaBridge

log = logging.getLogger("argos_transformer")


def health_app(bridge: KafkaBridge) -> Starlette:
    async def live(_: Request) -> Response:
        alive = bridge.running
        return JSONResponse({"live": alive}, status_code=200 if alive else 503)

    async def ready(_: Request) -> Response:
        ready = bridge.consuming
        return JSONResponse({"ready": ready}, status_code=200 if ready else 503)

    async def metrics(_: Request) -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return Starlette(routes=[
        Route("/v2/health/live", live),
        Route("/v2/health/ready", ready),
        Route("/metrics", metrics),
    ])


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Signals are ours (uvicorn would stop serving at once): the bridge drains first,
        while health and metrics still answer, then the server stops."""
        yield


async def _serve(bridge: KafkaBridge, host: str, port: int) -> None:
    config = uvicorn.Config(
        health_app(bridge), host=host, port=port, lifespan="off", access_log=False,
        log_config=None,
    )
    server = _Server(config)
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Future[Any]] = []

    def stop(signum: int) -> None:
        if stopping:
            return
        log.info("signal %s: draining Kafka ingestion", signal.Signals(signum).name)

        async def drain_then_exit() -> None:
            await loop.run_in_executor(None, bridge.stop)
            server.should_exit = True

        stopping.append(asyncio.ensure_future(drain_then_exit()))

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop, signum)
    serving = asyncio.ensure_future(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    if server.started:  # (not when the port is taken: nothing is consumed then)
        bridge.start()
    await serving
    if stopping:
        await stopping[0]
    else:  # the server ended on its own
        await loop.run_in_executor(None, bridge.stop)


def serve(bridge: KafkaBridge, host: str, port: int) -> int:
    """Run until SIGTERM/SIGINT; the exit code is 1 if ingestion failed."""
    log.info("kafka-only mode: health and metrics on %s:%d", host, port)
    collect_for_serving()
    try:
        asyncio.run(_serve(bridge, host, port))
    except SystemExit as exc:  # uvicorn exits when it cannot listen
        return int(exc.code or 1)
    return 1 if bridge.failed else 0
