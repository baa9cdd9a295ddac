"""The one client to the predictor, used by the HTTP transformer and the Kafka bridge.

It speaks KServe V1 REST, V2 REST or V2 gRPC, forwards only `authorization`, `x-request-id`
and `traceparent`, enforces one deadline per call and raises the typed errors of
`argos_transformer.errors` (each with `.status` and `.transient`).

Connections are pooled and reused across calls. httpx clients and gRPC channels belong to the
event loop that created them, so there is one transport per running loop: the server's loop
and the Kafka bridge's loop each get their own, from the same client object.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from argos_protocol import TextTranslation, TranslationOptions
from argos_transformer import metrics
from argos_transformer.errors import InvalidInput, PredictorTimeout, TransformerError
from argos_transformer.headers import forwardable
from argos_transformer.upstream_grpc import GrpcTransport, grpc_target
from argos_transformer.upstream_rest import RestTransport

log = logging.getLogger(__name__)

PROTOCOLS = ("v1", "v2", "grpc-v2")
T = TypeVar("T")
READY_TIMEOUT_S = 2.0


class Transport(Protocol):
    async def infer(
        self, texts: Sequence[str], source: str | None, target: str | None,
        headers: Mapping[str, str],
    ) -> list[str]: ...

    async def infer_results(
        self, texts: Sequence[str], source: str | None, target: str | None,
        options: TranslationOptions, headers: Mapping[str, str],
    ) -> list[TextTranslation]: ...

    async def ready(self, timeout_s: float) -> bool: ...

    async def aclose(self) -> None: ...


class PredictorClient:
    def __init__(
        self,
        host: str,
        protocol: str,
        model_name: str,
        timeout_s: float,
        use_ssl: bool = False,
        retry_after_s: float = 1.0,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
        if not host:
            raise ValueError("the predictor host is required")
        if timeout_s <= 0:
            raise ValueError("timeout_s must be > 0")
        self.host = host
        self.protocol = protocol
        self.model_name = model_name
        self.timeout_s = float(timeout_s)
        self.use_ssl = use_ssl
        self.retry_after_s = retry_after_s
        self._transports: dict[asyncio.AbstractEventLoop, Transport] = {}
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        if "://" in self.host:
            return self.host.rstrip("/")
        return f"{'https' if self.use_ssl else 'http'}://{self.host}"

    def describe(self) -> str:
        return f"{self.protocol} predictor {self.model_name!r} at {self.base_url}"

    async def translate(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> list[str]:
        """Translate `texts` in one predictor call; the answer has one string per text."""
        if not texts:
            return []
        return await self._timed(
            self._transport().infer(texts, source, target, forwardable(headers)), len(texts)
        )

    async def translate_results(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        options: TranslationOptions,
        headers: Mapping[str, str] | None = None,
    ) -> list[TextTranslation]:
        """Like `translate`, with the alternatives and scores `options` ask for."""
        if not texts:
            return []
        return await self._timed(
            self._transport().infer_results(
                texts, source, target, options, forwardable(headers)
            ),
            len(texts),
        )

    async def explain(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        headers: Mapping[str, str] | None = None,
    ) -> list[dict[str, Any]]:
        """The predictor's explanations of `texts` (its V1 `:explain`), one object per text.

        Only a V1 predictor is asked: the Open Inference Protocol (V2 REST and gRPC) has no
        explain verb, so with those the caller gets a 400 saying so."""
        if self.protocol != "v1":
            raise InvalidInput(
                f":explain goes to the predictor's V1 API, and this transformer calls its "
                f"predictor over {self.protocol} (--predictor_protocol); ask the predictor's "
                f"/v1/models/{self.model_name}:explain directly, or run the transformer with "
                "--predictor_protocol v1"
            )
        if not texts:
            return []
        transport = self._transport()
        assert isinstance(transport, RestTransport)  # the V1 protocol's transport
        return await self._timed(
            transport.explain(texts, source, target, forwardable(headers)), len(texts)
        )

    async def _timed(self, call: Awaitable[T], texts: int) -> T:
        """Await one predictor call within the deadline, with its latency and outcome counted."""
        started = time.perf_counter()
        outcome = "ok"
        try:
            async with asyncio.timeout(self.timeout_s):
                return await call
        except TimeoutError as exc:
            outcome = PredictorTimeout.error_class
            raise PredictorTimeout(
                f"predictor at {self.base_url} did not answer within {self.timeout_s:g}s"
            ) from exc
        except TransformerError as exc:
            outcome = exc.error_class
            raise
        finally:
            metrics.UPSTREAM_LATENCY.labels(self.protocol, outcome).observe(
                time.perf_counter() - started
            )
            metrics.UPSTREAM_TEXTS.labels(self.protocol).inc(texts)

    async def ready(self) -> bool:
        """Whether the predictor's model is ready (False when unreachable)."""
        try:
            return await self._transport().ready(min(READY_TIMEOUT_S, self.timeout_s))
        except Exception:  # any failure to ask means "not ready"
            log.debug("predictor readiness check failed", exc_info=True)
            return False

    async def aclose(self) -> None:
        """Close the transport of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            transport = self._transports.pop(loop, None)
        if transport is not None:
            await transport.aclose()

    def _transport(self) -> Transport:
        loop = asyncio.get_running_loop()
        transport = self._transports.get(loop)
        if transport is None:
            with self._lock:
                transport = self._transports.get(loop)
                if transport is None:
                    transport = self._new_transport()
                    self._transports[loop] = transport
                    log.info("predictor client ready: %s", self.describe())
        return transport

    def _new_transport(self) -> Transport:
        if self.protocol == "grpc-v2":
            return GrpcTransport(
                grpc_target(self.host, self.use_ssl), self.model_name, self.timeout_s,
                self.retry_after_s, self.use_ssl,
            )
        return RestTransport(
            self.base_url, self.model_name, v2=self.protocol == "v2", timeout_s=self.timeout_s,
            retry_after_s=self.retry_after_s,
        )
