"""Request guards in front of KServe's routes: a body size cap (413) and one JSON error shape.

The body cap runs as ASGI middleware, before FastAPI reads the body, so an oversized request is
refused from its Content-Length (or, when chunked, as soon as the running total passes the cap)
without buffering it (argos_protocol_kserve's HTTP error handler answers the 413 raised while
reading a chunked body).
"""

from __future__ import annotations

import argparse
import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from argos_protocol_kserve.server import rejected

# 256 texts of 10,000 characters, JSON-escaped at up to 6 bytes per character, fit in 16 MiB.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


class BodyTooLarge(HTTPException):
    """Raised while FastAPI reads a chunked body; FastAPI re-raises HTTP errors as they are."""

    def __init__(self, size: int, max_bytes: int) -> None:
        super().__init__(413, _too_large_message(size, max_bytes))


def _too_large_message(size: int, max_bytes: int) -> str:
    return f"request body too large: {size} bytes or more (limit {max_bytes} bytes)"


class BodySizeLimit:
    """ASGI middleware: refuse HTTP request bodies over `max_bytes` with 413 and a JSON error."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send, declared)
            return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(received, self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if response_started:
                raise
            await self._refuse(scope, send, received)

    async def _refuse(self, scope: Scope, send: Send, size: int) -> None:
        message = _too_large_message(size, self.max_bytes)
        rejected(scope.get("path", "-"), 413, message)
        body = json.dumps({"error": message}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max_body_bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help="largest HTTP request body accepted; larger ones get 413 (default 16 MiB)",
    )


def middleware(max_body_bytes: int) -> tuple[type, dict[str, int]]:
    if max_body_bytes < 1:
        raise ValueError(f"max_body_bytes must be >= 1, got {max_body_bytes}")
    return BodySizeLimit, {"max_bytes": max_body_bytes}
