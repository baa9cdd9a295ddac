"""KServe's ModelServer as the two images built on it (the KServe predictor and the transformer)
run it, changed through KServe's own extension points only:

- the data plane of `dataplane.py` (V2 REST bodies as the Open Inference Protocol has them);
- client errors (400, 404, 413, an overload's 503) answered with one log line at INFO or
  WARNING naming the reason, no traceback; server faults keep ERROR with their traceback. KServe
  logs every 400 at ERROR with two tracebacks, which floods logs and log-based alerts;
- what KServe answers 501 (a feature it lacks, e.g. a `model_version`) is the caller's to
  change: 400;
- no per-request timing middleware (two `getrusage` calls and two log lines per request; the
  latency histograms carry the same) and no per-call gRPC log line;
- every log line written while a request is served carries its id (`X-Request-Id`) and model;
- every HTTP answer is counted by method and status (`argos_http_requests_total`);
- REST and gRPC listen on `bind_host` (default: every interface, as KServe);
- garbage collection set up for serving (`argos_protocol.garbage_collection`).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping
from concurrent import futures
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from grpc import StatusCode, aio
from grpc_interceptor.exceptions import GrpcException
from kserve import model_server
from kserve.constants.constants import FASTAPI_APP_IMPORT_STRING
from kserve.errors import (
    InvalidInput,
    ModelNotFound,
    ServerNotReady,
    UnsupportedProtocol,
)
from kserve.model import BaseKServeModel
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor
from kserve.protocol.grpc.server import GRPCServer
from kserve.protocol.grpc.servicer import InferenceServicer
from kserve.protocol.rest.server import RESTServer
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send
from timing_asgi import TimingMiddleware

from argos_protocol.garbage_collection import collect_for_serving
from argos_protocol.logs import REQUEST_ID_HEADER, request_context
from argos_protocol_kserve.dataplane import OpenInferenceDataPlane
from argos_protocol_kserve.http_metrics import CountResponses

logger = logging.getLogger("argos_protocol_kserve.server")

ExceptionHandler = Callable[[Request, Exception], Awaitable[Response]]
_MODEL_IN_PATH = re.compile(r"^/v[12]/models/([^/:]+)")


def rejected(path: str, status: int, reason: str, level: int = logging.INFO) -> None:
    """The one log line of a request refused for the caller's reason."""
    logger.log(level, "request_rejected status=%d path=%s reason=%s", status, path, reason)


def client_error_handler(status: int, level: int = logging.INFO) -> ExceptionHandler:
    async def handle(request: Request, exc: Exception) -> Response:
        reason = str(exc)
        rejected(request.url.path, status, reason, level)
        return JSONResponse(status_code=status, content={"error": reason})

    return handle


async def request_validation_handler(request: Request, exc: Exception) -> Response:
    """FastAPI answers a body it cannot parse with 422 and its own shape; the error is the
    caller's: 400 `{"error"}` naming the fields."""
    assert isinstance(exc, RequestValidationError)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}"
        + (
            f" ({error['ctx']['error']})"
            if isinstance(error.get("ctx"), dict) and "error" in error["ctx"]
            else ""
        )
        for error in exc.errors()
    )
    reason = f"malformed request: {problems}"
    rejected(request.url.path, 400, reason)
    return JSONResponse(status_code=400, content={"error": reason})


async def http_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's own HTTP errors (a body FastAPI cannot read, a size limit) answer
    `{"detail"}`; ours answer `{"error"}` like every other error, logged once."""
    assert isinstance(exc, HTTPException)
    rejected(request.url.path, exc.status_code, str(exc.detail))
    return JSONResponse(
        status_code=exc.status_code,
        content={"error": str(exc.detail)},
        headers=getattr(exc, "headers", None),
    )


CLIENT_ERRORS: dict[type[Exception], ExceptionHandler] = {
    HTTPException: http_error_handler,
    InvalidInput: client_error_handler(400),
    UnsupportedProtocol: client_error_handler(400),
    NotImplementedError: client_error_handler(400),
    ModelNotFound: client_error_handler(404),
    RequestValidationError: request_validation_handler,
}


class RequestContextMiddleware:
    """ASGI middleware: the request's id (`X-Request-Id`) and model (from the path) for the
    log lines written while it is served."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = next(
            (v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"x-request-id"),
            None,
        )
        match = _MODEL_IN_PATH.match(scope.get("path", ""))
        with request_context(rid, match.group(1) if match else None):
            await self.app(scope, receive, send)


class ArgosRESTServer(RESTServer):
    """KServe's REST server with the handlers and middleware above (and any the image adds)."""

    def __init__(
        self,
        *args: Any,
        bind_host: str | None = None,
        exception_handlers: Mapping[type[Exception], ExceptionHandler] | None = None,
        middlewares: tuple[tuple[type, dict[str, Any]], ...] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.config.host = bind_host or "0.0.0.0"
        self._extra_handlers = dict(exception_handlers or {})
        self._extra_middlewares = middlewares

    def _add_middlewares(self, app: FastAPI) -> None:
        super()._add_middlewares(app)
        app.user_middleware = [m for m in app.user_middleware if m.cls is not TimingMiddleware]
        for middleware, options in self._extra_middlewares:
            app.add_middleware(middleware, **options)
        app.add_middleware(RequestContextMiddleware)
        app.add_middleware(CountResponses)  # outermost: it sees the status the client gets

    def _add_exception_handlers(self, app: FastAPI) -> None:
        super()._add_exception_handlers(app)
        for exception, handler in {**CLIENT_ERRORS, **self._extra_handlers}.items():
            app.add_exception_handler(exception, handler)


class ClientErrorsToStatus(ExceptionToStatusInterceptor):
    """KServe's gRPC error mapping, with client errors logged as one line and every call's log
    lines carrying its request id (metadata `x-request-id`) and model."""

    async def intercept(
        self, method: Callable, request_or_iterator: Any, context: Any, method_name: str
    ) -> Any:
        metadata = dict(context.invocation_metadata() or ())
        model = getattr(request_or_iterator, "model_name", None) or None
        with request_context(metadata.get(REQUEST_ID_HEADER), model):
            return await super().intercept(method, request_or_iterator, context, method_name)

    async def handle_exception(
        self, ex: Exception, request_or_iterator: Any, context: Any, method_name: str
    ) -> None:
        code, level = _grpc_client_error(ex)
        if code is None:
            await super().handle_exception(ex, request_or_iterator, context, method_name)
            return
        reason = getattr(ex, "reason", None) or str(ex)
        logger.log(
            level, "request_rejected status=%s method=%s reason=%s", code.name, method_name, reason
        )
        await context.abort(code, reason)


def _grpc_client_error(ex: Exception) -> tuple[StatusCode | None, int]:
    if isinstance(ex, InvalidInput | UnsupportedProtocol | NotImplementedError):
        return StatusCode.INVALID_ARGUMENT, logging.INFO
    if isinstance(ex, ModelNotFound):
        return StatusCode.NOT_FOUND, logging.INFO
    if isinstance(ex, ServerNotReady):
        return StatusCode.UNAVAILABLE, logging.WARNING
    if isinstance(ex, GrpcException):  # a typed error that names its own status
        caller = ex.status_code in _CALLER_CODES
        return ex.status_code, logging.INFO if caller else logging.WARNING
    return None, logging.ERROR


_CALLER_CODES = frozenset({
    StatusCode.INVALID_ARGUMENT, StatusCode.NOT_FOUND, StatusCode.OUT_OF_RANGE,
    StatusCode.FAILED_PRECONDITION, StatusCode.UNAUTHENTICATED, StatusCode.PERMISSION_DENIED,
})


def grpc_address(bind_host: str | None, port: int) -> str:
    if not bind_host:
        return f"[::]:{port}"
    return f"[{bind_host}]:{port}" if ":" in bind_host else f"{bind_host}:{port}"


class ArgosGRPCServer(GRPCServer):
    """KServe's gRPC server (its `start`, kserve 0.21) on `bind_host`, with the interceptor
    above instead of KServe's per-call logging one."""

    def __init__(self, bind_host: str | None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._address = grpc_address(bind_host, self._port)

    async def start(self, max_workers: int) -> None:
        servicer = InferenceServicer(self._data_plane, self._model_repository_extension)
        self._server = aio.server(
            futures.ThreadPoolExecutor(max_workers=max_workers),
            interceptors=(ClientErrorsToStatus(),),
            options=[
                ("grpc.max_send_message_length",
                 self._kwargs.get("grpc_max_send_message_length")),
                ("grpc.max_receive_message_length",
                 self._kwargs.get("grpc_max_receive_message_length")),
            ],
        )
        grpc_predict_v2_pb2_grpc.add_GRPCInferenceServiceServicer_to_server(
            servicer, self._server
        )
        self._server.add_insecure_port(self._address)
        logger.info("event=grpc_listening address=%s", self._address)
        await self._server.start()
        await self._server.wait_for_termination()


class ArgosModelServer(model_server.ModelServer):
    """KServe's ModelServer with the servers above. `exception_handlers` and `middlewares` add
    the image's own (e.g. its overload 503, a body size limit)."""

    def __init__(
        self,
        *,
        bind_host: str | None = None,
        exception_handlers: Mapping[type[Exception], ExceptionHandler] | None = None,
        middlewares: tuple[tuple[type, dict[str, Any]], ...] = (),
        dataplane_class: type[OpenInferenceDataPlane] = OpenInferenceDataPlane,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bind_host = bind_host
        self.dataplane = dataplane_class(model_registry=self.registered_models)
        self._rest_options = {
            "bind_host": bind_host,
            "exception_handlers": exception_handlers,
            "middlewares": middlewares,
        }

    def start(self, models: list[BaseKServeModel]) -> None:
        """ModelServer.start (kserve 0.21) for one process, building the servers above. One
        process per pod: the engine already uses every CPU of the container, and replicas
        scale it further."""
        if self.workers != 1:
            raise ValueError(f"workers must be 1 (got {self.workers}): scale with replicas")
        self._register_and_check_atleast_one_model_is_ready(models)
        rest_server = ArgosRESTServer(
            FASTAPI_APP_IMPORT_STRING,
            self.dataplane,
            self.model_repository_extension,
            self.http_port,
            access_log_format=self.access_log_format,
            workers=self.workers,
            grace_period=self.grace_period,
            event_loop=self.event_loop,
            timeout_keep_alive=self.timeout_keep_alive,
            ssl_certfile=self.ssl_certfile,
            ssl_keyfile=self.ssl_keyfile,
            **self._rest_options,
        )
        self._rest_server = rest_server
        self.servers.append(rest_server.start())
        if self.enable_grpc:
            self._grpc_server = ArgosGRPCServer(
                self.bind_host,
                self.grpc_port,
                self.dataplane,
                self.model_repository_extension,
                kwargs=vars(model_server.args),
                grace_period=self.grace_period,
            )
            self.servers.append(self._grpc_server.start(self.max_threads))
        self.register_signal_handler()
        collect_for_serving()
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        # KServe configures the event loop before `asyncio.run` has made the one that serves
        # (which fails outright under uvloop's policy): configure the running one.
        self.setup_event_loop()
        await super()._serve()


def use_event_loop(choice: str) -> None:
    """KServe's `--event-loop` for the loop that serves: ModelServer hands the choice to
    uvicorn's config but serves with `asyncio.run`, which ignores it. `auto` means uvloop when
    installed (lower per-request overhead)."""
    if choice == "asyncio":
        logger.info("event=event_loop loop=asyncio")
        return
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        logger.info("event=event_loop loop=asyncio reason=uvloop_not_installed")
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    logger.info("event=event_loop loop=uvloop")
