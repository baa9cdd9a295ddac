"""MLServer request inputs and parameters as the core's plain values.

MLServer's `StringCodec` would turn non-string values into "" silently, so values are passed
through untouched and `argos_core.contract` rejects what is not a string, naming the input.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

from mlserver.types import InferenceRequest, RequestInput

from argos_core import InvalidRequest
from argos_core.contract import TensorValues


def tensor_values(request_input: RequestInput) -> TensorValues:
    """One input as (name, datatype, shape, flat values): JSON data, gRPC contents or raw."""
    datatype = request_input.datatype
    # REST inputs are validated into the Datatype enum; gRPC inputs keep the wire string.
    if isinstance(datatype, Enum):
        datatype = datatype.value
    data = request_input.data
    root = data.root if hasattr(data, "root") else data
    if not isinstance(root, list):
        # MLServer's TensorData accepts any JSON value; a V2 tensor's data is an array.
        raise InvalidRequest(
            f"input '{request_input.name}' data must be a list, got {_type_name(root)}"
        )
    return TensorValues(
        name=request_input.name,
        datatype=str(datatype),
        shape=list(request_input.shape or []),
        values=_flatten(root),
    )


def request_parameters(request: InferenceRequest) -> dict[str, Any]:
    """Request-level parameters (`source`, `target`, ...) as a plain mapping."""
    if request.parameters is None:
        return {}
    return request.parameters.model_dump(exclude_none=True)


def _flatten(values: list[Any]) -> list[Any]:
    # Shape [N, 1] arrives as nested lists in JSON ([["a"], ["b"]]).
    flat: list[Any] = []
    for value in values:
        if isinstance(value, list):
            flat.extend(_flatten(value))
        else:
            flat.append(value)
    return flat


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__
