"""Map the core's errors onto MLServer's: 400 for the caller's mistakes, 503 when overloaded.

Each is logged here once, as one line naming the reason (INFO, or WARNING for an overload).
MLServer's gRPC servicer logs every error again at ERROR with its traceback; `DropClientErrors`
keeps those records of errors already logged here out of the log.
"""

from __future__ import annotations

import contextlib
import logging
import struct
from collections.abc import Iterator
from typing import Any

import grpc
from fastapi import status
from mlserver.errors import InferenceError, MLServerError
from mlserver.grpc.converters import ModelInferRequestConverter
from mlserver.grpc.utils import STATUS_CODE_MAPPING

from argos_core import InvalidRequest, Overloaded

# MLServer maps only 400/404/422/500 onto gRPC codes; anything else becomes UNKNOWN. Register
# 503 so gRPC clients see UNAVAILABLE (retryable), like the KServe front end's overload answer.
STATUS_CODE_MAPPING.setdefault(status.HTTP_503_SERVICE_UNAVAILABLE, grpc.StatusCode.UNAVAILABLE)


class OverloadedError(MLServerError):
    """503 on REST, UNAVAILABLE on gRPC: the core's bounded queue is full."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


logger = logging.getLogger("argos_mlserver")


class ClientError(InferenceError):
    """400: the request broke a rule of `argos_protocol` or named an unknown pair."""


@contextlib.contextmanager
def mlserver_errors() -> Iterator[None]:
    try:
        yield
    except InvalidRequest as exc:
        logger.info("request_rejected status=400 reason=%s", exc)
        raise ClientError(str(exc)) from exc
    except Overloaded as exc:
        logger.warning("request_rejected status=503 reason=%s", exc)
        raise OverloadedError(str(exc)) from exc


class DropClientErrors(logging.Filter):
    """On MLServer's gRPC logger: leave out the records of errors `mlserver_errors` logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not isinstance(error, ClientError | OverloadedError)


def refuse_undecodable_raw_inputs() -> None:
    """MLServer unpacks gRPC `raw_input_contents` before any runtime runs, and answers contents
    that do not unpack (a length past the end, a datatype it has no layout for) with INTERNAL
    and a traceback at ERROR. They are the caller's mistake: INVALID_ARGUMENT, logged once.
    (MLServer offers no hook before that point; this wraps its converter, mlserver 1.7.1.)"""
    convert = ModelInferRequestConverter.to_types.__func__
    if getattr(convert, "refuses_undecodable", False):
        return

    def to_types(cls: type, pb_object: Any) -> Any:
        try:
            return convert(cls, pb_object)
        except (struct.error, ValueError, KeyError) as exc:
            reason = f"raw_input_contents cannot be decoded: {exc}"
            logger.info("request_rejected status=400 reason=%s", reason)
            raise ClientError(reason) from exc

    to_types.refuses_undecodable = True  # type: ignore[attr-defined]
    ModelInferRequestConverter.to_types = classmethod(to_types)  # type: ignore[method-assign]
