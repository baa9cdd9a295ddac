"""Typed errors of the transformer: what went wrong, which HTTP status it answers, and whether
retrying the same input can succeed (`transient`), which is what the Kafka bridge acts on.

They also carry a gRPC status code (via grpc_interceptor's GrpcException, which KServe's gRPC
server turns into a status), so a V2 gRPC caller gets the same classification.
"""

from __future__ import annotations

import contextlib
from types import TracebackType

from grpc import StatusCode
from grpc_interceptor.exceptions import GrpcException

from argos_protocol import InvalidRequest


class TransformerError(GrpcException):
    """Base class. `status` is the HTTP status to answer with; `error_class` labels metrics."""

    status: int = 500
    transient: bool = False
    error_class: str = "internal"
    status_code: StatusCode = StatusCode.INTERNAL
    retry_after_s: float | None = None

    def __init__(self, message: str) -> None:
        super().__init__(details=message)
        self.message = message

    def __str__(self) -> str:
        return self.message

    def response_headers(self) -> dict[str, str]:
        if self.retry_after_s is None:
            return {}
        return {"Retry-After": str(max(1, round(self.retry_after_s)))}


# --- the caller's input ---------------------------------------------------------------------


class InvalidInput(TransformerError):
    """Malformed or invalid request: wrong shape or type, empty text, undecodable bytes."""

    status = 400
    error_class = "invalid_input"
    status_code = StatusCode.INVALID_ARGUMENT


class InputTooLarge(InvalidInput):
    """Too many characters or bytes for one request or record."""

    status = 413
    error_class = "input_too_large"


# --- this transformer -------------------------------------------------------------------------


class RetryLater(TransformerError):
    """Shed or out of reach right now: 503 with Retry-After; the same input can succeed later."""

    status = 503
    transient = True
    status_code = StatusCode.UNAVAILABLE

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class TransformerOverloaded(RetryLater):
    """More texts wait for a predictor call than this transformer queues: shed load now."""

    error_class = "transformer_overloaded"


# --- the predictor ----------------------------------------------------------------------------


class PredictorUnavailable(RetryLater):
    """Connection refused, DNS failure, not ready yet (scale-from-zero): try again shortly."""

    error_class = "predictor_unavailable"


class PredictorTimeout(TransformerError):
    """The predictor did not answer within the request timeout."""

    status = 504
    transient = True
    error_class = "predictor_timeout"
    status_code = StatusCode.DEADLINE_EXCEEDED


class PredictorOverloaded(RetryLater):
    """The predictor shed load (HTTP 429/503 "overloaded", gRPC RESOURCE_EXHAUSTED)."""

    error_class = "predictor_overloaded"

    def __init__(self, message: str, status: int = 503, retry_after_s: float = 1.0) -> None:
        super().__init__(message, retry_after_s)
        self.status = status
        if status == 429:
            self.status_code = StatusCode.RESOURCE_EXHAUSTED


class PredictorRejected(TransformerError):
    """The predictor refused the input (4xx); its status and message are passed through."""

    error_class = "predictor_rejected"

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.status_code = _GRPC_CODE_BY_CLIENT_STATUS.get(status, StatusCode.INVALID_ARGUMENT)


class PredictorFailed(TransformerError):
    """The predictor broke (5xx, invalid response): answered as 502 Bad Gateway."""

    status = 502
    transient = True
    error_class = "predictor_failed"
    status_code = StatusCode.UNAVAILABLE


_GRPC_CODE_BY_CLIENT_STATUS = {
    401: StatusCode.UNAUTHENTICATED,
    403: StatusCode.PERMISSION_DENIED,
    404: StatusCode.NOT_FOUND,
    409: StatusCode.ABORTED,
    413: StatusCode.INVALID_ARGUMENT,
}


class _ProtocolErrors(contextlib.ContextDecorator):
    # A class rather than @contextlib.contextmanager: that builds a generator per call, and
    # the codecs run this on every request.
    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, InvalidRequest):
            raise InvalidInput(str(exc)) from exc


def protocol_errors() -> _ProtocolErrors:
    """The protocol's `InvalidRequest` as this transformer's `InvalidInput` (also a decorator)."""
    return _ProtocolErrors()
