"""Calls to the predictor over Open Inference Protocol V2 gRPC (KServe's generated stubs), with
every failure turned into a typed error from `argos_transformer.errors`."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
from kserve.protocol.grpc import grpc_predict_v2_pb2 as pb
from kserve.protocol.grpc.grpc_predict_v2_pb2_grpc import GRPCInferenceServiceStub
from kserve.protocol.infer_type import deserialize_bytes_tensor

from argos_protocol import TextTranslation, TranslationOptions
from argos_transformer import predictor_options
from argos_transformer.errors import (
    PredictorFailed,
    PredictorOverloaded,
    PredictorRejected,
    PredictorTimeout,
    PredictorUnavailable,
    TransformerError,
)

_REJECTED_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400,
    grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
}
_MAX_MESSAGE = -1  # no limit: the request size is bounded by the transformer's own limits


class GrpcTransport:
    """One gRPC channel bound to the event loop that created it."""

    def __init__(
        self,
        target: str,
        model_name: str,
        timeout_s: float,
        retry_after_s: float,
        use_ssl: bool = False,
    ) -> None:
        self.target = target
        self.model_name = model_name
        self.timeout_s = timeout_s
        self.retry_after_s = retry_after_s
        options = [
            ("grpc.max_send_message_length", _MAX_MESSAGE),
            ("grpc.max_receive_message_length", _MAX_MESSAGE),
            # Failures go back to the caller at once, classified; the Kafka bridge retries.
            ("grpc.enable_retries", 0),
            # Reconnect soon after the predictor comes back (restart, scale from zero), instead
            # of failing fast for up to gRPC's default two-minute backoff. (The minimum backoff
            # is also the connect timeout, so it keeps its default.)
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ]
        if use_ssl:
            self._channel = grpc.aio.secure_channel(
                target, grpc.ssl_channel_credentials(), options=options
            )
        else:
            self._channel = grpc.aio.insecure_channel(target, options=options)
        self._stub = GRPCInferenceServiceStub(self._channel)

    async def infer(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        headers: Mapping[str, str],
    ) -> list[str]:
        response = await self._infer(self._request(texts, source, target), headers)
        return _translations(response, len(texts))

    async def infer_results(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        options: TranslationOptions,
        headers: Mapping[str, str],
    ) -> list[TextTranslation]:
        """Like `infer`, asking for the alternatives and scores of `options`."""
        request = self._request(texts, source, target)
        for name, value in predictor_options.parameters(options).items():
            parameter = request.parameters[name]
            if isinstance(value, bool):
                parameter.bool_param = value
            else:
                parameter.int64_param = value
        response = await self._infer(request, headers)
        return predictor_options.from_v2_outputs(_outputs(response), len(texts), options)

    def _request(
        self, texts: Sequence[str], source: str | None, target: str | None
    ) -> pb.ModelInferRequest:
        return pb.ModelInferRequest(
            model_name=self.model_name,
            inputs=[
                pb.ModelInferRequest.InferInputTensor(
                    name="text",
                    datatype="BYTES",
                    shape=[len(texts)],
                    contents=pb.InferTensorContents(bytes_contents=[t.encode() for t in texts]),
                )
            ],
            parameters={
                name: pb.InferParameter(string_param=value)
                for name, value in (("source", source), ("target", target))
                if value
            },
        )

    async def _infer(
        self, request: pb.ModelInferRequest, headers: Mapping[str, str]
    ) -> pb.ModelInferResponse:
        try:
            return await self._stub.ModelInfer(
                request, timeout=self.timeout_s, metadata=tuple(headers.items())
            )
        except grpc.aio.AioRpcError as exc:
            raise self._rpc_error(exc) from exc

    async def ready(self, timeout_s: float) -> bool:
        try:
            response = await self._stub.ModelReady(
                pb.ModelReadyRequest(name=self.model_name), timeout=timeout_s
            )
        except grpc.aio.AioRpcError:
            return False
        return response.ready

    async def aclose(self) -> None:
        await self._channel.close()

    def _rpc_error(self, exc: grpc.aio.AioRpcError) -> TransformerError:
        code, details = exc.code(), exc.details() or exc.code().name
        if code == grpc.StatusCode.UNAVAILABLE:
            if "overload" in details.lower():
                return PredictorOverloaded(details, 503, self.retry_after_s)
            return PredictorUnavailable(
                f"predictor at {self.target} is unavailable: {details}", self.retry_after_s
            )
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
            return PredictorOverloaded(details, 429, self.retry_after_s)
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return PredictorTimeout(f"predictor at {self.target} did not answer in time")
        if code == grpc.StatusCode.CANCELLED:
            return PredictorUnavailable(
                f"call to predictor at {self.target} was cancelled: {details}", self.retry_after_s
            )
        if code in _REJECTED_STATUS:
            return PredictorRejected(_REJECTED_STATUS[code], details)
        return PredictorFailed(f"predictor failed with gRPC {code.name}: {details}")


def _translations(response: pb.ModelInferResponse, expected: int) -> list[str]:
    for index, output in enumerate(response.outputs):
        if output.name != "translation":
            continue
        values = _values(response, index)
        if len(values) != expected:
            raise PredictorFailed(
                f"predictor answered {len(values)} translations for {expected} texts"
            )
        return values
    raise PredictorFailed("predictor answered without a 'translation' output")


def _outputs(response: pb.ModelInferResponse) -> dict[str, list[Any]]:
    """Every output's flat values by name."""
    return {output.name: _values(response, index) for index, output in enumerate(response.outputs)}


def _values(response: pb.ModelInferResponse, index: int) -> list[Any]:
    """One output's values, raw (`raw_output_contents`) or typed: BYTES as str, FP32 as float."""
    output = response.outputs[index]
    raw = response.raw_output_contents[index] if index < len(response.raw_output_contents) else None
    if output.datatype == "FP32":
        if raw is None:
            return list(output.contents.fp32_contents)
        if len(raw) % 4:
            raise PredictorFailed(f"predictor answered {len(raw)} raw bytes in '{output.name}'")
        return list(struct.unpack(f"<{len(raw) // 4}f", raw))
    values = (
        list(deserialize_bytes_tensor(raw)) if raw is not None
        else list(output.contents.bytes_contents)
    )
    try:
        return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]
    except UnicodeDecodeError as exc:
        raise PredictorFailed(
            f"predictor answered a '{output.name}' value that is not UTF-8: {exc}"
        ) from exc


def grpc_target(host: str, use_ssl: bool) -> str:
    """host[:port] for grpc; without a port, 443 with TLS and 80 without (as KServe does)."""
    host = host.split("://", 1)[-1].rstrip("/")
    if host.rsplit(":", 1)[-1].isdigit() and ":" in host:
        return host
    return f"{host}:{443 if use_ssl else 80}"
