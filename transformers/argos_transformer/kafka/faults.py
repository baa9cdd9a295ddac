"""Which failures are worth retrying: transient faults are retried, permanent ones dead-lettered."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import httpx

from argos_transformer.errors import PredictorRejected, TransformerError

# Refusals that are about the record itself. Any other 4xx from the predictor (401/403 wrong
# credentials, 404 model not loaded yet, 408, 409) is about the deployment and may heal, so it
# is retried rather than dead-lettered.
PERMANENT_STATUSES = frozenset({400, 413, 422})


@dataclass(frozen=True)
class Fault:
    """A classified failure of one record."""

    transient: bool
    error_class: str
    message: str
    status: int | None
    exception: str

    @classmethod
    def of(cls, exc: BaseException) -> Fault:
        name = type(exc).__name__
        if isinstance(exc, PredictorRejected) and exc.status not in PERMANENT_STATUSES:
            return cls(True, exc.error_class, exc.message, exc.status, name)
        if isinstance(exc, TransformerError):
            return cls(exc.transient, exc.error_class, exc.message, exc.status, name)
        if isinstance(exc, httpx.TimeoutException | asyncio.TimeoutError | TimeoutError):
            return cls(True, "predictor_timeout", str(exc) or name, 504, name)
        if isinstance(exc, httpx.TransportError | ConnectionError | OSError):
            return cls(True, "predictor_unavailable", str(exc) or name, 503, name)
        # A defect of ours, not the record's: dead-lettered with the details rather than
        # retried forever, so the partition keeps moving and nothing is dropped.
        return cls(False, "internal", f"{name}: {exc}", 500, name)
