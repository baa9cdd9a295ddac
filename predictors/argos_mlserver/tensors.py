"""MLServer request inputs and parameters as `argos_protocol` values.

MLServer's `StringCodec` would turn non-string values into "" silently, so values are passed
through untouched and `argos_protocol` rejects what is not a string, naming the input.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from mlserver.codecs import StringCodec
from mlserver.types import InferenceRequest, RequestInput, ResponseOutput

from argos_protocol import OutputValues, TensorValues, TranslationRequest, parse_v2
from argos_protocol.v2 import BYTES


def tensor_values(request_input: RequestInput) -> TensorValues:
    """One input as (name, datatype, shape, flat values): JSON data or gRPC contents."""
    datatype = request_input.datatype
    # REST inputs are validated into the Datatype enum; gRPC inputs keep the wire string.
    if isinstance(datatype, Enum):
        datatype = datatype.value
    data = request_input.data
    return TensorValues.of(
        request_input.name, datatype, request_input.shape, getattr(data, "root", data)
    )


def request_parameters(request: InferenceRequest) -> dict[str, Any]:
    """Request-level parameters (`source`, `target`, ...) as a plain mapping."""
    if request.parameters is None:
        return {}
    return request.parameters.model_dump(exclude_none=True)


def parse_inference_request(request: InferenceRequest) -> TranslationRequest:
    return parse_v2(
        [tensor_values(request_input) for request_input in request.inputs],
        request_parameters(request),
        request.id,
    )


def response_output(output: OutputValues) -> ResponseOutput:
    """An `argos_protocol` output as MLServer's: BYTES through its `StringCodec` (which also
    tags the content type), with the protocol's shape rather than the codec's [N, 1]."""
    if output.datatype == BYTES:
        encoded = StringCodec.encode_output(output.name, output.data)
        encoded.shape = output.shape
        return encoded
    return ResponseOutput(
        name=output.name, shape=output.shape, datatype=output.datatype, data=output.data
    )
