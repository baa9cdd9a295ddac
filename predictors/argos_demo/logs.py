"""Structured `key=value` log lines that stay readable next to tqdm progress bars."""

from __future__ import annotations

import logging
import sys

LOGGER_NAME = "argos_demo"


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(f"{LOGGER_NAME}.{name}")


def _format_value(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return f'"{text}"' if (" " in text or not text) else text


def event(logger: logging.Logger, name: str, **fields: object) -> None:
    """Log `event=name key=value ...` at INFO."""
    parts = [f"event={name}", *(f"{key}={_format_value(value)}" for key, value in fields.items())]
    logger.info(" ".join(parts))


def configure(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("ts=%(asctime)s level=%(levelname)s logger=%(name)s %(message)s")
    )
    root = logging.getLogger(LOGGER_NAME)
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
