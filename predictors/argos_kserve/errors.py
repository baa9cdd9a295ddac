"""Map the core's errors onto KServe's: 400 for the caller's mistakes, 503 when overloaded."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from kserve.errors import InvalidInput, ServerNotReady

from argos_core import InvalidRequest, Overloaded


class OverloadedError(ServerNotReady):
    """503 on REST (with Retry-After), UNAVAILABLE on gRPC (via KServe's interceptor)."""

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


async def overloaded_handler(_: Request, exc: OverloadedError) -> JSONResponse:
    return JSONResponse(
        status_code=503,
        content={"error": str(exc)},
        headers={"Retry-After": str(exc.retry_after_s)},
    )


async def request_validation_handler(_: Request, exc: RequestValidationError) -> JSONResponse:
    """FastAPI answers a body it cannot parse with 422 and its own shape; we answer 400."""
    problems = "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', '')}"
        + (
            f" ({error['ctx']['error']})"
            if isinstance(error.get("ctx"), dict) and "error" in error["ctx"]
            else ""
        )
        for error in exc.errors()
    )
    return JSONResponse(status_code=400, content={"error": f"malformed request: {problems}"})
