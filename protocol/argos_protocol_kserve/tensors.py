"""KServe's V2 tensors as `argos_protocol` values, and translations as KServe's response.

The response follows the request's encoding: raw gRPC inputs are answered with
`raw_output_contents` and REST `binary_data_output` (or an output's `binary_data`) with the
binary tensor extension, as KServe's own models and Triton do; clients such as tritonclient
read their answers that way.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from kserve import InferInput, InferOutput, InferRequest, InferResponse
from kserve.protocol.infer_type import to_http_parameters

from argos_protocol import OutputValues, TensorValues, TranslationRequest, parse_v2


def tensor_values(tensor: InferInput) -> TensorValues:
    return TensorValues.of(
        tensor.name, tensor.datatype, tensor.shape, tensor.data, tensor._raw_data
    )


def request_parameters(request: InferRequest) -> Mapping[str, Any]:
    """Request parameters as plain values (gRPC sends them as `InferParameter` messages)."""
    parameters = request.parameters
    if not parameters:
        return {}
    return parameters if isinstance(parameters, dict) else to_http_parameters(parameters)


def parse_infer_request(request: InferRequest) -> TranslationRequest:
    return parse_v2(
        [tensor_values(tensor) for tensor in request.inputs],
        request_parameters(request),
        request.id,
    )


def translation_response(
    request: InferRequest | None,
    model_name: str,
    outputs: Sequence[OutputValues],
    response_id: str | None = None,
) -> InferResponse:
    """The V2 answer to `request` (`argos_protocol.v2_outputs`), encoded as it asked."""
    return InferResponse(
        response_id=response_id or (request.id if request else None) or str(uuid.uuid4()),
        model_name=model_name,
        infer_outputs=[
            InferOutput(name=o.name, shape=o.shape, datatype=o.datatype, data=o.data)
            for o in outputs
        ],
        use_binary_outputs=bool(request and request.use_binary_outputs),
        requested_outputs=request.request_outputs if request else None,
    )
