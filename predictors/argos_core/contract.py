"""The request contract every front end shares, on plain Python values.

V1: `instances` is a list of strings, or of objects `{"text", "source"?, "target"?}`.
V2: input tensor `text` (BYTES, shape [N] or [N, 1]); the pair comes from request parameters
`source`/`target` or from BYTES input tensors of those names (one value, or one per row).
Front ends turn their framework's tensors into `TensorValues` and call these functions, so the
KServe and MLServer front ends answer the same inputs with the same errors.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from argos_core.errors import InvalidRequest

TEXT_INPUT = "text"
TRANSLATION_OUTPUT = "translation"
PAIR_FIELDS = ("source", "target")


@dataclass(frozen=True)
class TextItem:
    """One text to translate, with its own language pair (None = the server's default)."""

    text: str
    source: str | None = None
    target: str | None = None


@dataclass(frozen=True)
class TensorValues:
    name: str
    datatype: str
    shape: Sequence[int]
    values: Sequence[Any]


def items_from_v1(body: Any) -> list[TextItem]:
    if not isinstance(body, Mapping):
        raise InvalidRequest("request body must be a JSON object with an 'instances' list")
    instances = body.get("instances")
    if not isinstance(instances, list):
        raise InvalidRequest("'instances' must be a list of strings or {text, source, target}")
    parameters = body.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(parameters, Mapping):
        raise InvalidRequest("'parameters' must be an object")
    default_source = _optional_code(parameters.get("source"), "parameters.source")
    default_target = _optional_code(parameters.get("target"), "parameters.target")
    items = []
    for index, instance in enumerate(instances):
        if isinstance(instance, str):
            items.append(TextItem(instance, default_source, default_target))
        elif isinstance(instance, Mapping):
            text = instance.get("text")
            if not isinstance(text, str):
                raise InvalidRequest(
                    f"instances[{index}].text must be a string, got {_type_name(text)}"
                )
            unknown = sorted(set(instance) - {"text", *PAIR_FIELDS})
            if unknown:
                raise InvalidRequest(f"instances[{index}] has unknown fields: {', '.join(unknown)}")
            items.append(
                TextItem(
                    text,
                    _optional_code(instance.get("source"), f"instances[{index}].source")
                    or default_source,
                    _optional_code(instance.get("target"), f"instances[{index}].target")
                    or default_target,
                )
            )
        else:
            raise InvalidRequest(
                f"instances[{index}] must be a string or an object with 'text', "
                f"got {_type_name(instance)}"
            )
    return items


def items_from_v2(
    tensors: Sequence[TensorValues], parameters: Mapping[str, Any] | None
) -> list[TextItem]:
    by_name = {}
    for tensor in tensors:
        if tensor.name in by_name:
            raise InvalidRequest(f"input '{tensor.name}' given twice")
        by_name[tensor.name] = tensor
    unknown = sorted(set(by_name) - {TEXT_INPUT, *PAIR_FIELDS})
    if unknown:
        raise InvalidRequest(
            f"unknown inputs: {', '.join(unknown)}; expected '{TEXT_INPUT}' "
            "(and optionally 'source', 'target')"
        )
    if TEXT_INPUT not in by_name:
        raise InvalidRequest(f"missing input tensor '{TEXT_INPUT}' (BYTES, shape [N])")
    texts = strings_from_tensor(by_name[TEXT_INPUT])
    parameters = parameters or {}
    pair: dict[str, list[str | None]] = {}
    for field in PAIR_FIELDS:
        if field in by_name:
            values = strings_from_tensor(by_name[field])
            if len(values) == 1:
                values = values * len(texts)
            elif len(values) != len(texts):
                raise InvalidRequest(
                    f"input '{field}' must have 1 or {len(texts)} values, got {len(values)}"
                )
            pair[field] = [_optional_code(v, f"input '{field}'") for v in values]
        else:
            code = _optional_code(parameters.get(field), f"parameter '{field}'")
            pair[field] = [code] * len(texts)
    return [
        TextItem(text, source, target)
        for text, source, target in zip(texts, pair["source"], pair["target"], strict=True)
    ]


def strings_from_tensor(tensor: TensorValues) -> list[str]:
    if tensor.datatype != "BYTES":
        raise InvalidRequest(
            f"input '{tensor.name}' must have datatype BYTES, got {tensor.datatype}"
        )
    shape = list(tensor.shape)
    if not (len(shape) == 1 or (len(shape) == 2 and shape[1] == 1)) or shape[0] < 0:
        raise InvalidRequest(f"input '{tensor.name}' must have shape [N] or [N, 1], got {shape}")
    values = list(tensor.values)
    if len(values) != shape[0]:
        raise InvalidRequest(f"input '{tensor.name}' has {len(values)} values but shape {shape}")
    strings = []
    for index, value in enumerate(values):
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidRequest(
                    f"input '{tensor.name}'[{index}] is not valid UTF-8: {exc.reason}"
                ) from exc
        if not isinstance(value, str):
            raise InvalidRequest(
                f"input '{tensor.name}'[{index}] must be a string, got {_type_name(value)}"
            )
        strings.append(value)
    return strings


def _optional_code(value: Any, where: str) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        raise InvalidRequest(f"{where} must be a language code string, got {_type_name(value)}")
    code = value.strip()
    if not code or len(code) > 16:
        raise InvalidRequest(f"{where} is not a language code: {value[:32]!r}")
    return code


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__
