"""Map the core's errors onto MLServer's: 400 for the caller's mistakes, 503 when overloaded."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import grpc
from fastapi import status
from mlserver.errors import InferenceError, MLServerError
from mlserver.grpc.utils import STATUS_CODE_MAPPING

from argos_core import InvalidRequest, Overloaded

# MLServer maps only 400/404/422/500 onto gRPC codes; anything else becomes UNKNOWN. Register
# 503 so gRPC clients see UNAVAILABLE (retryable), like the KServe front end's overload answer.
STATUS_CODE_MAPPING.setdefault(status.HTTP_503_SERVICE_UNAVAILABLE, grpc.StatusCode.UNAVAILABLE)


class OverloadedError(MLServerError):
    """503 on REST, UNAVAILABLE on gRPC: the core's bounded queue is full."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


@contextlib.contextmanager
def mlserver_errors() -> Iterator[None]:
    try:
        yield
    except InvalidRequest as exc:
        raise InferenceError(str(exc)) from exc
    except Overloaded as exc:
        raise OverloadedError(str(exc)) from exc
