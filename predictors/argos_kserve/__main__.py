"""`python -m argos_kserve`: KServe's ModelServer arguments plus the engine settings."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import kserve
from fastapi.exceptions import RequestValidationError
from kserve import model_server

from argos_core import EngineSettings
from argos_kserve import http_metrics, limits
from argos_kserve.errors import OverloadedError, overloaded_handler, request_validation_handler
from argos_kserve.event_loop import use_event_loop
from argos_kserve.model import TranslatorModel
from argos_kserve.timing import drop_timing_middleware

logger = logging.getLogger("argos_kserve")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="argos_kserve",
        parents=[model_server.parser],
        description="Serve Argos Translate packages with KServe's ModelServer.",
    )
    parser.add_argument(
        "--model_dir",
        type=Path,
        default=None,
        help="folder of .argosmodel packages (zipped or unpacked); default: the embedded model",
    )
    EngineSettings.add_arguments(parser)
    limits.add_arguments(parser)
    # KServe logs a latency line per request by default; the same latencies are Prometheus
    # histograms, and the line costs 0.3-0.5 ms of CPU per request (docs/benchmarks.md).
    parser.set_defaults(model_name="translator", enable_latency_logging=False)
    args, _ = parser.parse_known_args(argv)
    return args


def configure_logging() -> None:
    """Our loggers (engine loading, batching, limits) on stderr beside KServe's, which configures
    only its own and uvicorn's. Level from ARGOS_LOG_LEVEL (default INFO)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
    )
    for name in ("argos_core", "argos_kserve"):
        named = logging.getLogger(name)
        named.addHandler(handler)
        named.setLevel(os.environ.get("ARGOS_LOG_LEVEL", "INFO").upper())
        named.propagate = False


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    configure_logging()
    model = TranslatorModel(args.model_name, args.model_dir, EngineSettings.from_namespace(args))
    model.load()
    model_server.app.add_exception_handler(OverloadedError, overloaded_handler)
    model_server.app.add_exception_handler(RequestValidationError, request_validation_handler)
    limits.install(model_server.app, args.max_body_bytes)
    http_metrics.install(model_server.app)
    drop_timing_middleware(model_server.app)
    use_event_loop(args.event_loop)
    kserve.ModelServer(enable_latency_logging=args.enable_latency_logging).start([model])


if __name__ == "__main__":
    main()
