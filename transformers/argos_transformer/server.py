"""The shared KServe ModelServer (`argos_protocol_kserve.server`) with the transformer's data
plane, error mapping, request ids, LibreTranslate routes and the optional Kafka bridge (started
with the server, drained on SIGTERM)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from fastapi import FastAPI, Request, Response
from kserve import model_server
from kserve.model import BaseKServeModel

from argos_protocol_kserve.server import ArgosModelServer
from argos_transformer.dataplane import TransformerDataPlane
from argos_transformer.errors import TransformerError
from argos_transformer.request_ids import AssignRequestId
from argos_transformer.responses import refused

log = logging.getLogger(__name__)


class Bridge(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


async def transformer_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TransformerError)
    return refused(request.url.path, exc)


class TransformerServer(ArgosModelServer):
    def __init__(
        self,
        routes: Callable[[FastAPI], None] | None = None,
        bridge: Bridge | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            workers=1,
            dataplane_class=TransformerDataPlane,
            exception_handlers={TransformerError: transformer_error_handler},
            middlewares=((AssignRequestId, {}),),
            **kwargs,
        )
        self._routes = routes
        self._bridge = bridge
        self._stopping = False
        self._drained: asyncio.Future[None] | None = None
        self._stop_task: asyncio.Future[None] | None = None

    def start(self, models: list[BaseKServeModel]) -> None:
        if self._routes is not None:
            # KServe serves this module-level app; its own routes join when it starts.
            self._routes(model_server.app)
        super().start(models)

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

    async def _serve(self) -> None:
        if self._bridge is not None:
            self._bridge.start()  # (its own thread and event loop)
        try:
            await super()._serve()
        finally:
            await self._drain_bridge()  # also when the servers ended without a signal

    async def _drain_bridge(self) -> None:
        if self._bridge is None:
            return
        if self._drained is None:
            log.info("event=kafka_bridge_draining")
            self._drained = asyncio.get_running_loop().run_in_executor(None, self._bridge.stop)
        try:
            await asyncio.shield(self._drained)
        except Exception:
            log.exception("the Kafka bridge did not stop cleanly")
