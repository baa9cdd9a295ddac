"""Which request headers travel on to the predictor: identity and trace context, nothing else."""

from __future__ import annotations

from collections.abc import Mapping

FORWARDED_HEADERS = ("authorization", "x-request-id", "traceparent")


def forwardable(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The forwarded subset of `headers` (names compared case-insensitively, sent lowercase)."""
    if not headers:
        return {}
    return {
        name.lower(): value
        for name, value in headers.items()
        if name.lower() in FORWARDED_HEADERS and isinstance(value, str)
    }
