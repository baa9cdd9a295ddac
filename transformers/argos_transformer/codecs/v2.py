"""Open Inference Protocol (V2, REST and gRPC): input `text` (BYTES, [N] or [N, 1]), the pair
from request parameters `source`/`target` or BYTES inputs of those names (1 or N values);
output `translation` (BYTES, [N])."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kserve.protocol.infer_type import (
    InferInput,
    InferOutput,
    InferRequest,
    InferResponse,
    deserialize_bytes_tensor,
    to_http_parameters,
)

from argos_transformer.codecs import fields
from argos_transformer.codecs.job import Pair, ReplyShape, TranslationJob
from argos_transformer.errors import InvalidInput

TEXT_INPUT = "text"
TRANSLATION_OUTPUT = "translation"
_PAIR_INPUTS = ("source", "target")


def decode_v2(request: InferRequest) -> TranslationJob:
    by_name: dict[str, InferInput] = {}
    for tensor in request.inputs:
        if tensor.name in by_name:
            raise InvalidInput(f"input '{tensor.name}' given twice")
        by_name[tensor.name] = tensor
    unknown = sorted(set(by_name) - {TEXT_INPUT, *_PAIR_INPUTS})
    if unknown:
        raise InvalidInput(
            f"unknown inputs: {', '.join(unknown)}; expected '{TEXT_INPUT}' "
            "(and optionally 'source', 'target')"
        )
    if TEXT_INPUT not in by_name:
        raise InvalidInput(f"missing input tensor '{TEXT_INPUT}' (BYTES, shape [N])")
    texts = [
        fields.text(value, f"input '{TEXT_INPUT}'[{index}]")
        for index, value in enumerate(tensor_strings(by_name[TEXT_INPUT]))
    ]
    if not texts:
        raise InvalidInput(f"input '{TEXT_INPUT}' is empty: give at least one text")
    parameters = to_http_parameters(request.parameters) if request.parameters else {}
    columns: dict[str, list[str | None]] = {}
    for name in _PAIR_INPUTS:
        if name in by_name:
            values = tensor_strings(by_name[name])
            if len(values) == 1:
                values = values * len(texts)
            elif len(values) != len(texts):
                raise InvalidInput(
                    f"input '{name}' must have 1 or {len(texts)} values, got {len(values)}"
                )
            columns[name] = [fields.language_code(v, f"input '{name}'") for v in values]
        else:
            code = fields.language_code(parameters.get(name), f"parameter '{name}'")
            columns[name] = [code] * len(texts)
    pairs: list[Pair] = list(zip(columns["source"], columns["target"], strict=True))
    uniform = all(pair == pairs[0] for pair in pairs)
    return TranslationJob(
        texts=tuple(texts),
        source=pairs[0][0] if uniform else None,
        target=pairs[0][1] if uniform else None,
        id=request.id or None,
        shape=ReplyShape.V2,
        pairs=None if uniform else tuple(pairs),
    )


def tensor_strings(tensor: InferInput) -> list[Any]:
    """The elements of a BYTES tensor of shape [N] or [N, 1] (str or bytes)."""
    if tensor.datatype != "BYTES":
        raise InvalidInput(
            f"input '{tensor.name}' must have datatype BYTES, got {tensor.datatype}"
        )
    shape = list(tensor.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)) or shape[0] < 0:
        raise InvalidInput(f"input '{tensor.name}' must have shape [N] or [N, 1], got {shape}")
    raw = getattr(tensor, "_raw_data", None)
    values = list(deserialize_bytes_tensor(raw)) if raw else _flatten(tensor.data)
    if len(values) != shape[0]:
        raise InvalidInput(f"input '{tensor.name}' has {len(values)} values but shape {shape}")
    return values


def encode_v2(
    request_id: str | None, model_name: str, translations: Sequence[str]
) -> InferResponse:
    output = InferOutput(
        name=TRANSLATION_OUTPUT, shape=[len(translations)], datatype="BYTES",
        data=list(translations),
    )
    return InferResponse(
        response_id=request_id or "", model_name=model_name, infer_outputs=[output]
    )


def _flatten(data: Any) -> list[Any]:
    if data is None:
        return []
    values: list[Any] = []
    for value in data:
        if isinstance(value, list):
            values.extend(value)
        else:
            values.append(value)
    return values
