"""KServe's ModelServer with the transformer's data plane, error mapping, LibreTranslate routes
and the optional Kafka bridge (started with the server, drained on SIGTERM)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from kserve import model_server
from kserve.constants.constants import FASTAPI_APP_IMPORT_STRING
from kserve.model import BaseKServeModel
from kserve.protocol.rest.server import RESTServer
from timing_asgi import TimingMiddleware

from argos_protocol_kserve.http_metrics import CountResponses
from argos_transformer.dataplane import TransformerDataPlane
from argos_transformer.errors import TransformerError
from argos_transformer.listeners import BoundGRPCServer, rest_host
from argos_transformer.responses import error_response

log = logging.getLogger(__name__)


class Bridge(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


async def transformer_error_handler(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, TransformerError)
    log.info("request_failed status=%s class=%s error=%r", exc.status, exc.error_class, exc.message)
    return error_response(exc)


async def unsupported_feature_handler(_: Request, exc: Exception) -> Response:
    """KServe answers features it lacks (e.g. `model_version`) with 501; the caller asked for
    something this service does not offer, so it is theirs to change: 400."""
    return JSONResponse(status_code=400, content={"error": str(exc)})


class TransformerRESTServer(RESTServer):
    def _add_middlewares(self, app: FastAPI) -> None:
        # KServe's TimingMiddleware calls getrusage twice and logs two lines per request, a
        # large share of a small proxy's CPU; the Prometheus histograms carry the same latency.
        super()._add_middlewares(app)
        app.user_middleware = [m for m in app.user_middleware if m.cls is not TimingMiddleware]

    def _add_exception_handlers(self, app: FastAPI) -> None:
        super()._add_exception_handlers(app)
        app.add_exception_handler(NotImplementedError, unsupported_feature_handler)


class TransformerServer(model_server.ModelServer):
    def __init__(
        self,
        routes: Callable[[FastAPI], None] | None = None,
        bridge: Bridge | None = None,
        bind_host: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(workers=1, **kwargs)
        self.bind_host = bind_host
        self.dataplane = TransformerDataPlane(model_registry=self.registered_models)
        self._routes = routes
        self._bridge = bridge
        self._stopping = False
        self._drained: asyncio.Future[None] | None = None
        self._stop_task: asyncio.Future[None] | None = None

    def start(self, models: list[BaseKServeModel]) -> None:
        """ModelServer.start for one worker, with the listen address of `bind_host`."""
        # KServe serves this module-level app; its own routes and handlers join when it starts.
        app = model_server.app
        app.add_exception_handler(TransformerError, transformer_error_handler)
        if self._routes is not None:
            self._routes(app)
        app.add_middleware(CountResponses)
        self._register_and_check_atleast_one_model_is_ready(models)
        self._rest_server = TransformerRESTServer(
            FASTAPI_APP_IMPORT_STRING,
            self.dataplane,
            self.model_repository_extension,
            self.http_port,
            access_log_format=self.access_log_format,
            workers=1,
            grace_period=self.grace_period,
            event_loop=self.event_loop,
            timeout_keep_alive=self.timeout_keep_alive,
            ssl_certfile=self.ssl_certfile,
            ssl_keyfile=self.ssl_keyfile,
        )
        self._rest_server.config.host = rest_host(self.bind_host)
        self.servers.append(self._rest_server.start())
        if self.enable_grpc:
            self._grpc_server = BoundGRPCServer(
                self.bind_host,
                self.grpc_port,
                self.dataplane,
                self.model_repository_extension,
                kwargs=vars(model_server.args),
                grace_period=self.grace_period,
            )
            self.servers.append(self._grpc_server.start(self.max_threads))
        if self._bridge is not None:
            self._bridge.start()
        self.register_signal_handler()
        asyncio.run(self._serve())

    def stop(self, sig: int) -> None:
        """Drain the Kafka bridge (in a worker thread), then stop KServe's servers."""
        if self._stopping:
            return
        self._stopping = True
        if self._bridge is None:
            super().stop(sig)
            return

        async def drain_then_stop() -> None:
            await self._drain_bridge()
            super(TransformerServer, self).stop(sig)

        self._stop_task = asyncio.ensure_future(drain_then_stop())

    def setup_event_loop(self) -> None:
        # ModelServer.start() calls this before asyncio.run() has created the loop that will
        # serve (which fails outright under uvloop's policy): configure the running loop only.
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return
        super().setup_event_loop()

    async def _serve(self) -> None:
        self.setup_event_loop()
        try:
            await super()._serve()
        finally:
            await self._drain_bridge()  # also when the servers ended without a signal

    async def _drain_bridge(self) -> None:
        if self._bridge is None:
            return
        if self._drained is None:
            log.info("draining the Kafka bridge")
            self._drained = asyncio.get_running_loop().run_in_executor(None, self._bridge.stop)
        try:
            await asyncio.shield(self._drained)
        except Exception:
            log.exception("the Kafka bridge did not stop cleanly")
