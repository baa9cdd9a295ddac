"""`python -m argos_kserve`: KServe's ModelServer arguments plus the engine settings."""

from __future__ import annotations

import argparse
from pathlib import Path

from kserve import model_server

from argos_core import EngineSettings
from argos_kserve import limits
from argos_kserve.errors import OverloadedError, overloaded_handler
from argos_kserve.model import TranslatorModel
from argos_protocol import logs
from argos_protocol_kserve.server import ArgosModelServer, use_event_loop

LOGGERS = ("argos_core", "argos_kserve", "argos_protocol", "argos_protocol_kserve", "kserve",
           "kserve.trace", "uvicorn", "uvicorn.error")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="argos_kserve",
        parents=[model_server.parser],
        description="Serve Argos Translate packages with KServe's ModelServer. Every flag of "
        "KServe's ModelServer is accepted; unknown flags are refused.",
    )
    parser.add_argument(
        "--model_dir",
        type=Path,
        default=None,
        help="folder of .argosmodel packages (zipped or unpacked); default: the embedded model",
    )
    parser.add_argument(
        "--bind_host",
        default=None,
        help="address the HTTP and gRPC servers listen on (default: every interface, as KServe)",
    )
    EngineSettings.add_arguments(parser)
    limits.add_arguments(parser)
    logs.add_arguments(parser)
    # KServe logs a latency line per request by default; the same latencies are Prometheus
    # histograms, and the line costs 0.3-0.5 ms of CPU per request (docs/benchmarks.md).
    parser.set_defaults(model_name="translator", enable_latency_logging=False)
    args = parser.parse_args(argv)
    if args.workers != 1:
        parser.error("--workers must be 1: the engine uses every CPU of the container "
                     "(--inter_threads); scale with replicas")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logs.configure(logs.log_format(args.log_format), LOGGERS, access_log=args.enable_access_log)
    model = TranslatorModel(args.model_name, args.model_dir, EngineSettings.from_namespace(args))
    model.load()
    use_event_loop(args.event_loop)
    server = ArgosModelServer(
        bind_host=args.bind_host,
        exception_handlers={
            OverloadedError: overloaded_handler,
        },
        middlewares=(limits.middleware(args.max_body_bytes),),
        enable_latency_logging=args.enable_latency_logging,
    )
    server.start([model])


if __name__ == "__main__":
    main()
