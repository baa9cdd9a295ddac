"""Map the core's errors onto KServe's: 400 for the caller's mistakes, 503 when overloaded."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from fastapi import Request
from fastapi.responses import JSONResponse
from kserve.errors import InvalidInput, ServerNotReady

from argos_core import InvalidRequest, Overloaded
from argos_protocol_kserve.server import rejected


class OverloadedError(ServerNotReady):
    """503 on REST (with Retry-After), UNAVAILABLE on gRPC (via the server's interceptor)."""

    def __init__(self, detail: str, retry_after_s: int) -> None:
        super().__init__(detail)
        self.error_msg = detail
        self.reason = detail
        self.retry_after_s = retry_after_s


@contextlib.contextmanager
def kserve_errors() -> Iterator[None]:
    try:
        yield
    except InvalidRequest as exc:
        raise InvalidInput(str(exc)) from exc
    except Overloaded as exc:
        raise OverloadedError(str(exc), exc.retry_after_s) from exc


async def overloaded_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, OverloadedError)
    rejected(request.url.path, 503, str(exc), logging.WARNING)
    return JSONResponse(
        status_code=503,
        content={"error": str(exc)},
        headers={"Retry-After": str(exc.retry_after_s)},
    )
