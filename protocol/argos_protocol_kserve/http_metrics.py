"""HTTP responses by method and status code (`argos_http_requests_total`), for error-ratio
alerts: KServe's own metrics time requests but do not say how they ended.

Plain ASGI middleware, one labelled counter increment per request, on both images built on
KServe (`server.ArgosRESTServer` installs it).
"""

from __future__ import annotations

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "argos_http_requests_total", "HTTP requests answered, by method and status code",
    ["method", "code"],
)
# Anything else counts as "other", so odd methods cannot grow the label set.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


class CountResponses:
    """ASGI middleware: count each HTTP response by method and status. A request that raises
    before answering counts as the 500 Starlette's error middleware then sends; one whose
    client went away (cancelled) is not counted."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def noting_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, noting_send)
        except Exception:
            _count(scope, status)
            raise
        _count(scope, status)


def _count(scope: Scope, status: int) -> None:
    method = scope.get("method", "")
    REQUESTS.labels(method if method in METHODS else "other", str(status)).inc()
