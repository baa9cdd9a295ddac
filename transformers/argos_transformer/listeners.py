"""KServe's REST and gRPC servers, listening on a chosen address.

KServe binds every interface (REST 0.0.0.0, gRPC [::]), which a container needs; tests and local
runs may want loopback only (`--bind_host 127.0.0.1`). The gRPC server's start is KServe's own
(kserve 0.21) with the listen address as the only change.
"""

from __future__ import annotations

from concurrent import futures

from grpc import aio
from kserve.logging import logger
from kserve.protocol.grpc import grpc_predict_v2_pb2_grpc
from kserve.protocol.grpc.interceptors import ExceptionToStatusInterceptor, LoggingInterceptor
from kserve.protocol.grpc.server import GRPCServer
from kserve.protocol.grpc.servicer import InferenceServicer


def rest_host(bind_host: str | None) -> str:
    return bind_host or "0.0.0.0"


def grpc_address(bind_host: str | None, port: int) -> str:
    if not bind_host:
        return f"[::]:{port}"
    return f"[{bind_host}]:{port}" if ":" in bind_host else f"{bind_host}:{port}"


class BoundGRPCServer(GRPCServer):
    def __init__(self, bind_host: str | None, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._address = grpc_address(bind_host, self._port)

    async def start(self, max_workers: int) -> None:
        servicer = InferenceServicer(self._data_plane, self._model_repository_extension)
        self._server = aio.server(
            futures.ThreadPoolExecutor(max_workers=max_workers),
            interceptors=(LoggingInterceptor(), ExceptionToStatusInterceptor()),
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
        logger.info("Starting gRPC server on %s", self._address)
        await self._server.start()
        await self._server.wait_for_termination()
