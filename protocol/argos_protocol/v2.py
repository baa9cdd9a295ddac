"""Open Inference Protocol (V2, REST and gRPC) for translation.

Input `text`: BYTES, shape [N] or [N, 1]. The pair comes from request parameters
`source`/`target`, or from BYTES input tensors of those names holding one value or one per row.
Output `translation`: BYTES, shape [N]. With request parameter `return_scores` also `score`
(FP32, [N], the confidence in (0, 1]); with `alternatives` k also `alternatives` (BYTES, [N, k]).

Front ends turn their framework's tensors into `TensorValues` (one call to `TensorValues.of`),
so every server reads the same tensors the same way and answers the same errors.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from argos_protocol import fields
from argos_protocol.errors import InvalidRequest
from argos_protocol.fields import TextRule
from argos_protocol.options import TranslationOptions, parse_options
from argos_protocol.request import PAIR_FIELDS, TextItem, TranslationRequest
from argos_protocol.results import TextTranslation

TEXT_INPUT = "text"
TRANSLATION_OUTPUT = "translation"
SCORE_OUTPUT = "score"
ALTERNATIVES_OUTPUT = "alternatives"
BYTES = "BYTES"
FP32 = "FP32"
INPUT_NAMES = (TEXT_INPUT, *PAIR_FIELDS)


@dataclass(frozen=True)
class OutputValues:
    """One output tensor as plain values, for a front end to wrap in its framework's type."""

    name: str
    datatype: str
    shape: list[int]
    data: list[Any]


@dataclass(frozen=True)
class TensorValues:
    """One input tensor as plain values: its name, datatype, shape and flat elements."""

    name: str
    datatype: str
    shape: Sequence[int]
    values: Sequence[Any]

    @classmethod
    def of(
        cls,
        name: str,
        datatype: str,
        shape: Sequence[int] | None,
        data: Any,
        raw: bytes | None = None,
    ) -> TensorValues:
        """From a framework tensor: `data` as JSON or gRPC typed contents (nested lists and
        array-likes are flattened), or `raw` bytes of the binary tensor extension."""
        if raw is not None and datatype == BYTES:
            values: list[Any] = decode_bytes(raw, name)
        elif raw is not None:
            values = [raw]  # refused by the datatype rule, naming the datatype
        elif isinstance(data, list | tuple) or hasattr(data, "tolist"):
            values = flatten(data)
        else:
            raise InvalidRequest(
                f"input '{name}' data must be a list, got {fields.type_name(data)}"
            )
        return cls(name, str(datatype), list(shape or []), values)


def flatten(data: Any) -> list[Any]:
    """Elements of nested lists (shape [N, 1] arrives as [["a"], ["b"]] in JSON) or of an
    array-like with `tolist()` (numpy), in row-major order."""
    if hasattr(data, "tolist"):
        data = data.tolist()
    if not isinstance(data, list | tuple):
        return [data]
    flat: list[Any] = []
    for value in data:
        if isinstance(value, list | tuple) or hasattr(value, "tolist"):
            flat.extend(flatten(value))
        else:
            flat.append(value)
    return flat


def decode_bytes(raw: bytes, name: str) -> list[bytes]:
    """A BYTES tensor in the binary layout: each element a 4-byte little-endian length and
    that many bytes."""
    values, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise InvalidRequest(
                f"input '{name}' binary data is truncated in the length of element {len(values)}"
            )
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise InvalidRequest(
                f"input '{name}' binary data is truncated in element {len(values)} "
                f"({length} bytes announced, {len(raw) - offset} left)"
            )
        values.append(bytes(raw[offset : offset + length]))
        offset += length
    return values


def parse_v2(
    tensors: Sequence[TensorValues],
    parameters: Mapping[str, Any] | None,
    request_id: str | None = None,
    text_rule: TextRule = fields.text,
) -> TranslationRequest:
    """`text_rule` checks each text: `fields.text` (any string) or `fields.nonblank_text`."""
    by_name: dict[str, TensorValues] = {}
    for tensor in tensors:
        if tensor.name in by_name:
            raise InvalidRequest(f"input '{tensor.name}' given twice")
        by_name[tensor.name] = tensor
    unknown = sorted(set(by_name) - set(INPUT_NAMES))
    if unknown:
        raise InvalidRequest(
            f"unknown inputs: {', '.join(unknown)}; expected '{TEXT_INPUT}' "
            "(and optionally 'source', 'target')"
        )
    if TEXT_INPUT not in by_name:
        raise InvalidRequest(f"missing input tensor '{TEXT_INPUT}' (BYTES, shape [N])")
    texts = [
        text_rule(value, f"input '{TEXT_INPUT}'[{index}]")
        for index, value in enumerate(tensor_elements(by_name[TEXT_INPUT]))
    ]
    parameters = parameters or {}
    columns: dict[str, list[str | None]] = {}
    for name in PAIR_FIELDS:
        if name in by_name:
            values = tensor_elements(by_name[name])
            if len(values) == 1:
                values = values * len(texts)
            elif len(values) != len(texts):
                raise InvalidRequest(
                    f"input '{name}' must have 1 or {len(texts)} values, got {len(values)}"
                )
            columns[name] = [fields.language_code(v, f"input '{name}'") for v in values]
        else:
            code = fields.language_code(parameters.get(name), f"parameter '{name}'")
            columns[name] = [code] * len(texts)
    items = tuple(
        TextItem(text, source, target)
        for text, source, target in zip(texts, columns["source"], columns["target"], strict=True)
    )
    return TranslationRequest(
        items, request_id or None, parse_options(parameters, "parameter '{}'")
    )


def v2_outputs(
    results: Sequence[TextTranslation], options: TranslationOptions
) -> list[OutputValues]:
    count = len(results)
    outputs = [
        OutputValues(TRANSLATION_OUTPUT, BYTES, [count], [r.translation for r in results])
    ]
    if options.return_scores:
        outputs.append(OutputValues(SCORE_OUTPUT, FP32, [count], [r.confidence for r in results]))
    if options.alternatives:
        outputs.append(
            OutputValues(
                ALTERNATIVES_OUTPUT,
                BYTES,
                [count, options.alternatives],
                [text for r in results for text in r.alternatives],
            )
        )
    return outputs


def tensor_elements(tensor: TensorValues) -> list[Any]:
    """The elements of a BYTES tensor of shape [N] or [N, 1], checked against its shape."""
    if tensor.datatype != BYTES:
        raise InvalidRequest(
            f"input '{tensor.name}' must have datatype BYTES, got {tensor.datatype}"
        )
    shape = list(tensor.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)) or shape[0] < 0:
        raise InvalidRequest(f"input '{tensor.name}' must have shape [N] or [N, 1], got {shape}")
    values = list(tensor.values)
    if len(values) != shape[0]:
        raise InvalidRequest(f"input '{tensor.name}' has {len(values)} values but shape {shape}")
    return values
