"""Rules for single request fields, with errors that name the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from argos_protocol.errors import InvalidRequest

MAX_CODE_CHARS = 16

# Checks one text (value, where it stands) and returns it: `text` or `nonblank_text`.
TextRule = Callable[[Any, str], str]


def type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def utf8(value: bytes, where: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRequest(
            f"{where} is not valid UTF-8 (byte {exc.start}: {exc.reason})"
        ) from exc


def language_code(value: Any, where: str) -> str | None:
    """A language code such as `en`, `pt-BR` or `zh_Hant`; None when absent or empty (the
    server's default pair applies)."""
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, bytes):
        value = utf8(value, where)
    if not isinstance(value, str):
        raise InvalidRequest(f"{where} must be a language code string, got {type_name(value)}")
    code = value.strip()
    bare = code.replace("-", "").replace("_", "")
    if not code or len(code) > MAX_CODE_CHARS or not (bare.isascii() and bare.isalnum()):
        raise InvalidRequest(f"{where} is not a language code: {value[:32]!r}")
    return code


def text(value: Any, where: str) -> str:
    """A text to translate: a string, or UTF-8 bytes. Blank texts are allowed here (a predictor
    answers them unchanged); `nonblank_text` is the stricter rule of request front doors."""
    if isinstance(value, bytes):
        value = utf8(value, where)
    if not isinstance(value, str):
        raise InvalidRequest(f"{where} must be a string, got {type_name(value)}")
    return value


def nonblank_text(value: Any, where: str) -> str:
    value = text(value, where)
    if not value.strip():
        raise InvalidRequest(f"{where} is empty")
    return value


def record_id(value: Any, where: str = "id") -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidRequest(f"{where} must be a string or an integer, got {type_name(value)}")
    return str(value)


def boolean(value: Any, where: str) -> bool:
    """A flag given as a JSON boolean (or, from gRPC/string parameters, "true"/"false")."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidRequest(f"{where} must be true or false, got {value!r:.32}")


def count(value: Any, where: str, low: int, high: int) -> int:
    """A whole number in [low, high] (gRPC parameters may carry it as a string)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{where} must be a whole number, got {type_name(value)}")
    if not low <= value <= high:
        raise InvalidRequest(f"{where} must be between {low} and {high}, got {value}")
    return value
