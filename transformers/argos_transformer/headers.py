"""Which request headers travel on to the predictor: identity and trace context, nothing else."""

from __future__ import annotations

from collections.abc import Mapping

from argos_protocol.logs import REQUEST_ID_HEADER

FORWARDED_HEADERS = ("authorization", REQUEST_ID_HEADER, "traceparent")


def forwardable(
    headers: Mapping[str, str] | None, request_id: str | None = None
) -> dict[str, str]:
    """The forwarded subset of `headers` (names compared case-insensitively, sent lowercase),
    with `request_id` as `x-request-id` when `headers` carry none."""
    forwarded = {
        name.lower(): value
        for name, value in (headers or {}).items()
        if name.lower() in FORWARDED_HEADERS and isinstance(value, str)
    }
    if request_id and REQUEST_ID_HEADER not in forwarded:
        forwarded[REQUEST_ID_HEADER] = request_id
    return forwarded
