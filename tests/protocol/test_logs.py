"""The shared log configuration: in JSON mode everything a server writes is a JSON line, Python's
warnings included (a library's deprecation warning was once a bare line in the JSON log)."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator

import pytest

from argos_protocol import logs


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """What `logs.configure("json", ...)` writes (its one handler, read from a buffer)."""
    logs.configure("json", ["argos_test"])
    handler = logging.getLogger("argos_test").handlers[0]
    assert logging.getLogger("py.warnings").handlers == [handler]
    buffer = io.StringIO()
    handler.setStream(buffer)
    yield buffer
    logging.captureWarnings(False)
    for name in ("argos_test", "py.warnings", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()


def test_warnings_and_log_lines_are_json_with_the_request_context(json_log: io.StringIO) -> None:
    with logs.request_context("rid-1", "translator"):
        logging.getLogger("argos_test").info("request_rejected status=400")
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("this call is deprecated", UserWarning, stacklevel=1)
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert [(d["logger"], d["level"], d["request_id"], d["model"]) for d in lines] == [
        ("argos_test", "INFO", "rid-1", "translator"),
        ("py.warnings", "WARNING", "rid-1", "translator"),
    ]
    assert "this call is deprecated" in lines[1]["message"]
