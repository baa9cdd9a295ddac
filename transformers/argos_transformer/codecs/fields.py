"""Checks of single request fields, with errors that name the field."""

from __future__ import annotations

from typing import Any

from argos_transformer.errors import InvalidInput

MAX_CODE_CHARS = 16


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def language_code(value: Any, where: str) -> str | None:
    """A language code, or None when absent/empty (the predictor's default applies)."""
    if value is None or value == "":
        return None
    if isinstance(value, bytes):
        value = utf8(value, where)
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be a language code string, got {type_name(value)}")
    code = value.strip()
    bare = code.replace("-", "").replace("_", "")
    if not code or len(code) > MAX_CODE_CHARS or not bare.isalnum():
        raise InvalidInput(f"{where} is not a language code: {value[:32]!r}")
    return code


def text(value: Any, where: str) -> str:
    """A non-blank string (bytes are decoded as UTF-8)."""
    if isinstance(value, bytes):
        value = utf8(value, where)
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be a string, got {type_name(value)}")
    if not value.strip():
        raise InvalidInput(f"{where} is empty")
    return value


def record_id(value: Any, where: str = "id") -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(f"{where} must be a string or an integer, got {type_name(value)}")
    return str(value)


def utf8(value: bytes, where: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"{where} is not valid UTF-8 (byte {exc.start}: {exc.reason})"
        ) from exc
