"""Open Inference Protocol (V2, REST and gRPC), read and answered with `argos_protocol_kserve`
(the same as the KServe predictor), with the transformer's stricter text rule."""

from __future__ import annotations

from kserve.protocol.infer_type import InferRequest

from argos_protocol import TEXT_INPUT, fields, parse_v2
from argos_protocol_kserve.tensors import request_parameters, tensor_values
from argos_transformer.codecs.job import ReplyShape, TranslationJob
from argos_transformer.errors import InvalidInput, protocol_errors


@protocol_errors()
def decode_v2(request: InferRequest) -> TranslationJob:
    parsed = parse_v2(
        [tensor_values(tensor) for tensor in request.inputs],
        request_parameters(request),
        request.id,
        fields.nonblank_text,
    )
    if not parsed.items:
        raise InvalidInput(f"input '{TEXT_INPUT}' is empty: give at least one text")
    return TranslationJob.of_items(parsed.items, ReplyShape.V2, parsed.id, options=parsed.options)
