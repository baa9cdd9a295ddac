"""Which failures are retried (transient) and which are dead-lettered (permanent)."""

from __future__ import annotations

import httpx
import pytest

from argos_transformer.errors import (
    InputTooLarge,
    InvalidInput,
    PredictorFailed,
    PredictorOverloaded,
    PredictorRejected,
    PredictorTimeout,
    PredictorUnavailable,
)
from argos_transformer.kafka.faults import Fault


@pytest.mark.parametrize(
    "exc",
    [
        PredictorUnavailable("connection refused"),
        PredictorTimeout("no answer in 10s"),
        PredictorOverloaded("overloaded", status=429),
        PredictorOverloaded("overloaded", status=503),
        PredictorFailed("500 from the predictor"),
        PredictorRejected(401, "missing token"),
        PredictorRejected(404, "model translator is not loaded"),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        ConnectionResetError("reset"),
        TimeoutError(),
    ],
)
def test_transient(exc: BaseException) -> None:
    assert Fault.of(exc).transient


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (InvalidInput("record value is empty"), 400),
        (InputTooLarge("too large"), 413),
        (PredictorRejected(400, "unknown language pair en->xx"), 400),
        (PredictorRejected(413, "too many texts"), 413),
        (PredictorRejected(422, "unprocessable"), 422),
        (ValueError("a defect of ours"), 500),
    ],
)
def test_permanent(exc: BaseException, status: int) -> None:
    fault = Fault.of(exc)
    assert not fault.transient
    assert fault.status == status
    assert fault.message
