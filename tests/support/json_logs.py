"""Reading a server's JSON log (`--log_format json`): one JSON object per line."""

from __future__ import annotations

import json

import pytest


def json_lines(text: str) -> list[dict]:
    """Every non-blank line as a JSON object; the test fails on the first line that is not."""
    documents = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            documents.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON log line: {line[:300]}")
    return documents


def lines_with_id(log: str, request_id: str) -> list[dict]:
    """The lines of `log` that carry `request_id`."""
    return [line for line in json_lines(log) if line.get("request_id") == request_id]
