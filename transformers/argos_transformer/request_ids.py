"""The id a request is logged and forwarded under.

The caller's `X-Request-Id` (or gRPC metadata) when it sends one (the shared server's
`RequestContextMiddleware` and gRPC interceptor have put it in the log context), else a new one
made here; a CloudEvent without `X-Request-Id`
goes by its event id (`use_event_id`), a Kafka record by `kafka_record_id`. The id is sent on
to the predictor as `X-Request-Id` (`headers.forwardable`), so both logs carry it, and back to
the HTTP caller in the answer's `X-Request-Id`.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from argos_protocol.logs import REQUEST_ID_HEADER, request_id


def new_request_id() -> str:
    return uuid.uuid4().hex


class AssignRequestId:
    """ASGI middleware (inside the shared `RequestContextMiddleware`): a request that came
    without `X-Request-Id` gets a new id for its log lines; every answer names its id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = request_id.set(request_id.get() or new_request_id())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                current = request_id.get()
                if current:
                    headers = list(message.get("headers", ()))
                    headers.append((REQUEST_ID_HEADER.encode(), current.encode("latin-1")))
                    message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)


def ensure_request_id() -> None:
    """A request that reached the model with no id (a gRPC call without `x-request-id`
    metadata) gets one, for its log lines and the predictor's."""
    if not request_id.get():
        request_id.set(new_request_id())


def use_event_id(event_id: object, headers: Mapping[str, str]) -> None:
    """A CloudEvent whose sender gave no `X-Request-Id` is followed by its own id."""
    if REQUEST_ID_HEADER not in headers and isinstance(event_id, str) and event_id:
        request_id.set(event_id)


def kafka_record_id(
    topic: str, partition: int, offset: int, headers: Sequence[tuple[str, bytes | None]] | None
) -> str:
    """The producer's `x-request-id` header, else `<topic>/<partition>/<offset>`."""
    for name, value in headers or ():
        if name.lower() == REQUEST_ID_HEADER and value:
            return value.decode("utf-8", "replace")
    return f"{topic}/{partition}/{offset}"
