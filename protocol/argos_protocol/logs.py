"""Log lines, written the same way by every server: text (the default) or one JSON object per
line, each with the request's id and model when a request is being served.

The request id is the caller's `X-Request-Id` (HTTP header or gRPC metadata). The transformer
forwards it to the predictor, so one id can be followed through both logs; a Kafka record's id
is its topic/partition/offset. Servers set it with `request_context` for the duration of a
request, and every log line written meanwhile carries it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.config
import os
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any

REQUEST_ID_HEADER = "x-request-id"
LOG_FORMATS = ("text", "json")
LOG_FORMAT_ENV = "ARGOS_LOG_FORMAT"
LOG_LEVEL_ENV = "ARGOS_LOG_LEVEL"

request_id: ContextVar[str | None] = ContextVar("argos_request_id", default=None)
model_name: ContextVar[str | None] = ContextVar("argos_model_name", default=None)


@contextlib.contextmanager
def request_context(rid: str | None, model: str | None = None) -> Iterator[None]:
    """Every log line written inside carries this request id and model."""
    id_token, model_token = request_id.set(rid), model_name.set(model)
    try:
        yield
    finally:
        request_id.reset(id_token)
        model_name.reset(model_token)


class RequestContextFilter(logging.Filter):
    """Puts the current request's id and model on each record (`request_id`, `model`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = request_id.get()
        if not hasattr(record, "model"):
            record.model = model_name.get()
        return True


class TextFormatter(logging.Formatter):
    """`time pid logger LEVEL message [request_id=… model=…]`."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = [
            f"{name}={value}"
            for name in ("request_id", "model")
            if (value := getattr(record, name, None))
        ]
        if not context:
            return line
        head, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{head} {' '.join(context)}{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id and
    model when known, the exception's traceback as one string when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ("request_id", "model"):
            value = getattr(record, name, None)
            if value:
                document[name] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def log_format(value: str | None = None) -> str:
    """The chosen format: `value` (a flag), else $ARGOS_LOG_FORMAT, else text."""
    chosen = (value or os.environ.get(LOG_FORMAT_ENV) or "text").strip().lower()
    if chosen not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, got {chosen!r}")
    return chosen


def configure(
    log_format_name: str,
    loggers: Iterable[str],
    *,
    access_log: bool = False,
    level: str | None = None,
) -> None:
    """Send `loggers` (ours and the framework's) to stderr in one format, with the request
    context. uvicorn's per-request access log is off unless `access_log`: request latencies are
    Prometheus histograms, and a bad request then costs one log line, the one naming it."""
    level = (level or os.environ.get(LOG_LEVEL_ENV) or "INFO").upper()
    formatter = "json" if log_format_name == "json" else "text"
    handler = {
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "formatter": formatter,
        "filters": ["request_context"],
    }
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_context": {"()": RequestContextFilter}},
        "formatters": {"json": {"()": JsonFormatter}, "text": {"()": TextFormatter}},
        "handlers": {"stderr": handler},
        "loggers": {
            name: {"handlers": ["stderr"], "level": level, "propagate": False} for name in loggers
        },
    }
    # Python's warnings (a library's deprecation, say) as log records in the same format,
    # rather than bare lines on stderr.
    logging.captureWarnings(True)
    config["loggers"]["py.warnings"] = {
        "handlers": ["stderr"], "level": "WARNING", "propagate": False
    }
    config["loggers"]["uvicorn.access"] = {
        "handlers": ["stderr"] if access_log else [],
        "level": "INFO" if access_log else "CRITICAL",
        "propagate": False,
    }
    logging.config.dictConfig(config)


def _iso_time(created: float) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created))
    return f"{seconds}.{int(created % 1 * 1000):03d}Z"


def add_arguments(parser: Any) -> None:
    """`--log_format` and `--enable_access_log` on a server's argparse parser."""
    group = parser.add_argument_group("logging")
    group.add_argument(
        "--log_format",
        choices=LOG_FORMATS,
        default=None,
        help=f"text, or one JSON object per line (default: ${LOG_FORMAT_ENV}, else text)",
    )
    group.add_argument(
        "--enable_access_log",
        type=lambda value: value.strip().lower() in ("1", "true", "yes", "on"),
        default=False,
        help="log one line per HTTP request (uvicorn's access log); the latency histograms "
        "carry the same (default: false)",
    )
