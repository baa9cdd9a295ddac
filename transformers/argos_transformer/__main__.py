"""Run the transformer: `python -m argos_transformer --model_name translator
--predictor_host HOST:PORT --predictor_protocol v1|v2|grpc-v2 [--http_port 8080 ...]`.

KServe's ModelServer flags are all accepted (its parser is the parent of this one); Kafka
ingestion starts too when `--kafka_bootstrap_servers` / `KAFKA_BOOTSTRAP_SERVERS` is set. With
`--kafka_only` the process is only a Kafka ingestion worker (`kafka_only.py`): no HTTP front
door, health and metrics on `--http_port`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from kserve import model_server

from argos_protocol import logs
from argos_protocol_kserve.server import use_event_loop
from argos_transformer import kafka_only
from argos_transformer.coalescing_client import CoalescingClient
from argos_transformer.codecs.records import DEFAULT_MAX_RECORD_BYTES
from argos_transformer.kafka.bridge import KafkaBridge
from argos_transformer.kafka.settings import KafkaSettings
from argos_transformer.language_detection import ACCURACIES, LanguageDetector
from argos_transformer.languages import DEFAULT_LANGUAGES, LanguageCatalog
from argos_transformer.libretranslate_api import LibreTranslateApi
from argos_transformer.model import TranslatorTransformer
from argos_transformer.pipeline import PipelineLimits, TranslationPipeline
from argos_transformer.predictor_client import PredictorClient
from argos_transformer.server import TransformerServer

log = logging.getLogger("argos_transformer")
LOGGERS = ("argos_transformer", "argos_protocol", "argos_protocol_kserve", "kserve", "kserve.trace",
           "uvicorn", "uvicorn.error", "kafka")

LIMIT_FLAGS = {
    "max_texts": "texts per request (or record)",
    "max_request_chars": "characters per request (or record), all texts together",
    "max_segment_chars": "longer lines are cut at sentence ends, then spaces, before translation",
    "texts_per_call": "text segments per predictor call (keep <= the predictor's --max_texts)",
    "parallel_calls": "concurrent predictor calls for one request",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m argos_transformer",
        parents=[model_server.parser],
        description="KServe transformer for the Argos translator",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    group = parser.add_argument_group("argos transformer")
    group.add_argument(
        "--kafka_only", action="store_true",
        help="Kafka ingestion only: no inference endpoints, health (/v2/health/live, "
        "/v2/health/ready) and /metrics on --http_port; needs the Kafka settings",
    )
    group.add_argument(
        "--bind_host", default=None,
        help="address the HTTP and gRPC servers listen on (default: every interface, as KServe)",
    )
    group.add_argument(
        "--predictor_model_name", default=None,
        help="model name on the predictor (default: --model_name)",
    )
    group.add_argument(
        "--languages", default=os.environ.get("ARGOS_LANGUAGES", DEFAULT_LANGUAGES),
        help="language pairs for LibreTranslate's /languages, /detect and source=auto, e.g. "
        "en:es,es:en [env ARGOS_LANGUAGES]",
    )
    group.add_argument(
        "--detection_accuracy", choices=ACCURACIES, default="low",
        help="language detection models: low (trigrams, ~5 MB per language) or high (1- to "
        "5-grams: better on texts of a few words, ~60 MB per language, slower start)",
    )
    group.add_argument(
        "--max_record_bytes", type=int, default=DEFAULT_MAX_RECORD_BYTES,
        help="largest raw body, CloudEvent data or Kafka record value accepted (a larger Kafka "
        "record is dead-lettered)",
    )
    group.add_argument(
        "--readiness_checks_predictor", type=_boolean, default=True,
        help="report not-ready while the predictor is not ready (set false where readiness "
        "probes must not reach the predictor, e.g. to let a serverless predictor scale to zero)",
    )
    group.add_argument(
        "--predictor_calls_in_flight", type=int, default=4,
        help="calls to the predictor at once; concurrent translations beyond that wait and share "
        "the next call for their language pair (up to --texts_per_call texts)",
    )
    group.add_argument(
        "--max_queued_texts", type=int, default=4096,
        help="texts waiting for a predictor call; beyond that requests get 503 at once",
    )
    group.add_argument(
        "--retry_after_seconds", type=float, default=1.0,
        help="Retry-After sent with 503 when the predictor does not give one",
    )
    defaults = PipelineLimits()
    for name, help_text in LIMIT_FLAGS.items():
        group.add_argument(f"--{name}", type=int, default=getattr(defaults, name), help=help_text)
    KafkaSettings.add_arguments(parser)
    logs.add_arguments(parser)
    # KServe logs a latency line per request by default; the same latencies are Prometheus
    # histograms, and the line costs 0.3-0.5 ms of CPU per request (docs/benchmarks.md).
    parser.set_defaults(enable_latency_logging=False)
    return parser


def _boolean(value: str) -> bool:
    if value.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if value.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {value!r}")


def configure_logging(args: argparse.Namespace) -> None:
    logs.configure(logs.log_format(args.log_format), LOGGERS, access_log=args.enable_access_log)
    # kafka-python reports every reconnect at INFO; its warnings and errors are worth a line
    logging.getLogger("kafka").setLevel(max(logging.WARNING, log.getEffectiveLevel()))


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        configure_logging(args)
    except ValueError as exc:  # a bad $ARGOS_LOG_FORMAT
        parser.error(str(exc))
    if not args.predictor_host:
        parser.error("--predictor_host is required (host:port of the predictor)")
    if args.workers != 1:
        parser.error("--workers must be 1: scale the transformer with replicas instead")
    # KServe's older --protocol flag still names the predictor protocol when given alone.
    protocol = args.predictor_protocol if args.predictor_protocol != "v1" else args.protocol
    try:
        catalog = LanguageCatalog.parse(args.languages)
        limits = PipelineLimits(**{name: getattr(args, name) for name in LIMIT_FLAGS})
    except ValueError as exc:
        parser.error(str(exc))
    client = PredictorClient(
        host=args.predictor_host,
        protocol=protocol,
        model_name=args.predictor_model_name or args.model_name,
        timeout_s=args.predictor_request_timeout_seconds,
        use_ssl=args.predictor_use_ssl,
        retry_after_s=args.retry_after_seconds,
    )
    try:
        upstream = CoalescingClient(
            client, limits.texts_per_call, args.predictor_calls_in_flight,
            args.max_queued_texts, args.retry_after_seconds,
        )
    except ValueError as exc:
        parser.error(str(exc))
    pipeline = TranslationPipeline(upstream, limits)
    if args.kafka_only:
        sys.exit(run_kafka_only(parser, args, pipeline))
    model = TranslatorTransformer(
        args.model_name, pipeline, args.max_record_bytes, args.readiness_checks_predictor
    )
    model.load()
    try:
        settings = KafkaSettings.from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    bridge = KafkaBridge(settings, pipeline) if settings is not None else None
    log.info(
        "starting model=%s predictor=%r languages=%s kafka=%s",
        args.model_name, client.describe(), args.languages, settings is not None,
    )
    started = time.perf_counter()
    detector = LanguageDetector(catalog.codes, args.detection_accuracy)
    log.info("language detection ready in %.2fs", time.perf_counter() - started)
    server = TransformerServer(
        routes=LibreTranslateApi(pipeline, catalog, detector).register,
        bridge=bridge,
        bind_host=args.bind_host,
        http_port=args.http_port,
        grpc_port=args.grpc_port,
        max_threads=args.max_threads,
        max_asyncio_workers=args.max_asyncio_workers,
        enable_grpc=args.enable_grpc,
        enable_docs_url=args.enable_docs_url,
        enable_latency_logging=args.enable_latency_logging,
        access_log_format=args.access_log_format,
    )
    use_event_loop(args.event_loop)
    server.start([model])


def run_kafka_only(
    parser: argparse.ArgumentParser, args: argparse.Namespace, pipeline: TranslationPipeline
) -> int:
    try:
        settings = KafkaSettings.from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    if settings is None:
        parser.error("--kafka_only needs Kafka settings (KAFKA_BOOTSTRAP_SERVERS, ...)")
    log.info(
        "starting kafka-only predictor=%r group=%s guarantee=%s",
        pipeline.client.describe(), settings.group_id, settings.processing_guarantee,
    )
    use_event_loop(args.event_loop)
    return kafka_only.serve(KafkaBridge(settings, pipeline), args.bind_host or "0.0.0.0",
                            args.http_port)


if __name__ == "__main__":
    main()
