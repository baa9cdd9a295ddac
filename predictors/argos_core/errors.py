"""Errors of the translation core. Front ends map them onto their protocol's status codes.

The caller's mistakes (wrong shape, wrong type, too long, too many, unknown pair) are the
protocol's `InvalidRequest` (400); the rest derive from `TranslationError`.
"""

from argos_protocol import InvalidRequest


class TranslationError(Exception):
    """Base class; `status` is the HTTP status a front end should answer with."""

    status = 500


class UnknownLanguagePair(InvalidRequest):
    def __init__(self, source: str, target: str, installed: list[tuple[str, str]]) -> None:
        pairs = ", ".join(f"{s}->{t}" for s, t in installed) or "none"
        super().__init__(f"unknown language pair {source}->{target}; installed pairs: {pairs}")
        self.source = source
        self.target = target


class Overloaded(TranslationError):
    """The bounded queue is full: the caller should retry later."""

    status = 503
    retry_after_s = 1


class PackageError(TranslationError):
    """A model directory or package that cannot be served; raised at startup."""
