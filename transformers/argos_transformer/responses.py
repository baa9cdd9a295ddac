"""JSON responses for the transformer's own routes and error handler (`{"error": message}`,
the shape KServe and LibreTranslate both use), and the one log line of a refused request."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import Response

from argos_protocol_kserve.server import rejected
from argos_transformer.errors import TransformerError


def json_response(
    content: Any, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(content), status_code=status_code, headers=headers,
        media_type="application/json",
    )


def error_response(error: TransformerError) -> Response:
    return json_response({"error": error.message}, error.status, error.response_headers())


def refused(path: str, error: TransformerError) -> Response:
    """The answer to a request that failed with a typed error, logged as one line without a
    traceback (a known condition, never a defect of ours): the caller's (4xx) at INFO, an
    upstream's or an overload's (5xx) at WARNING."""
    level = logging.INFO if error.status < 500 else logging.WARNING
    rejected(path, error.status, f"{error.error_class}: {error.message}", level)
    return error_response(error)
