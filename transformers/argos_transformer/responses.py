"""JSON responses for the transformer's own routes and error handler (`{"error": message}`,
the shape KServe and LibreTranslate both use)."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Response

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
