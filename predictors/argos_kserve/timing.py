"""KServe's per-request timing log, left out of the middleware stack.

KServe wraps every HTTP request in timing_asgi's TimingMiddleware: two `getrusage` calls, a route
match and two `kserve.trace` log lines per request, about a sixth of the predictor's CPU under
load (py-spy, docs/benchmarks.md). The same latencies are exported as Prometheus histograms
(`request_predict_seconds`, ...); `--enable_latency_logging true` logs one line per request.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp
from timing_asgi import TimingMiddleware


def drop_timing_middleware(app: FastAPI) -> None:
    """Build `app`'s middleware stack without TimingMiddleware.

    KServe adds it while its server starts, after this runs, and Starlette builds the stack on
    the first ASGI call; so the filter runs at build time.
    """
    build = app.build_middleware_stack

    def build_without_timing() -> ASGIApp:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not TimingMiddleware]
        return build()

    app.build_middleware_stack = build_without_timing  # type: ignore[method-assign]
