"""Every server the dashboard watches, really started (the other test areas' helpers), a real
Kafka broker, and a real Prometheus scraping them through the rendered PodMonitors; then a
short load, and waits until Prometheus has seen it.

Before the load, the predictor is down for a moment on purpose (as when it scales from zero):
the transformer answers 503 and Kafka ingestion retries, so those series exist too.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.kafka.services import (
    Predictor,
    Topics,
    Transformer,
    kafka_transformer_command,
    new_topics,
    reserved_port,
    running_broker,
)
from tests.manifests.rendering import Resource, of_kind
from tests.mlserver.servers import RunningMLServer, launch_mlserver
from tests.monitoring.load import Endpoint, Load, Traffic, kafka_good, v1, v2
from tests.monitoring.rules import write_rules_file
from tests.monitoring.scrape_config import LocalServer, ServedPod, prometheus_config, served_pods
from tests.support.kafka import KafkaBroker, wait_until
from tests.support.metrics import metric_value
from tests.support.processes import ServerProcess, free_port
from tests.support.prometheus import Prometheus, timestamp
from tests.transformer.conftest import RunningTransformer, start_transformer

# Short, so that a load of a few seconds fills rate windows (Grafana's $__rate_interval is at
# least four scrape intervals).
SCRAPE_INTERVAL_S = 1
MIN_ROUNDS, MAX_ROUNDS = 6, 600
# Records produced while the predictor is down, so Kafka ingestion retries them.
EARLY_RECORDS = 4
WAIT_S = 120.0


@dataclass
class LiveStack:
    prometheus: Prometheus
    pods: list[ServedPod]
    traffic: Traffic
    early_503: int  # transformer answers while the predictor was down
    load_started: float  # epoch seconds
    predictor_url: str
    transformer_url: str
    kafka_transformer_url: str
    mlserver_metrics_url: str

    def metrics(self, url: str) -> str:
        return httpx.get(url, timeout=10).text


def start_kafka_ingestion(
    log_dir: Path, broker: KafkaBroker, topics: Topics, predictor_host: str
) -> Transformer:
    """Kafka ingestion as the kafka-keda overlay's worker runs it: the transformer image in
    Kafka-only mode. (The one place that knows how ingestion is started.)"""
    http_port = free_port()
    command = kafka_transformer_command(
        predictor_host, broker, topics, http_port, "--kafka_only", "--bind_host", "127.0.0.1"
    )
    server = ServerProcess(command, log_dir / f"kafka-transformer-{http_port}.log").start()
    server.wait_http_ok(f"http://127.0.0.1:{http_port}/v2/health/live", timeout=90)
    return Transformer(server, http_port)


def _must(
    check: Callable[[], bool], what: str, timeout: float = WAIT_S,
    state: Callable[[], object] | None = None,
) -> None:
    if not wait_until(check, timeout, interval=0.25):
        raise TimeoutError(
            f"not within {timeout:.0f}s: {what}" + (f"\n{state()}" if state else "")
        )


def _targets(prometheus: Prometheus) -> str:
    return "\n".join(
        f"{target['labels'].get('pod')} {target['scrapeUrl']} {target['health']} "
        f"{target['lastError']}"
        for target in prometheus.active_targets()
    ) or "no active targets"


def _scraped_since(prometheus: Prometheus, moment: float, count: int) -> bool:
    """Every target answered a scrape that started after `moment`, and there are `count`."""
    targets = prometheus.active_targets()
    return len(targets) == count and all(
        target["health"] == "up" and timestamp(target["lastScrape"]) > moment
        for target in targets
    )


def _rules_evaluated_since(prometheus: Prometheus, moment: float) -> bool:
    return all(timestamp(rule["lastEvaluation"]) > moment for rule in prometheus.rules())


@contextlib.contextmanager
def live_stack(work_dir: Path, rendered: dict[str, list[Resource]]) -> Iterator[LiveStack]:
    with contextlib.ExitStack() as stack:
        mlserver = launch_mlserver(work_dir / "mlserver", extra={"max_wait_ms": 5})
        stack.callback(mlserver.stop)
        broker = stack.enter_context(
            contextlib.contextmanager(running_broker)(KafkaBroker(work_dir / "kafka"))
        )
        topics = new_topics(broker)
        http_port = reserved_port()
        predictor = Predictor(
            work_dir, http_port, reserved_port(http_port), ("--cache_size", "1000")
        )
        stack.callback(predictor.stop)
        kafka = start_kafka_ingestion(work_dir, broker, topics, predictor.host)
        stack.callback(kafka.server.stop)
        transformer = start_transformer(work_dir, predictor.host, "v1", wait_ready=False)
        stack.callback(transformer.stop)

        pods = served_pods(rendered, _local_servers(predictor, transformer, mlserver, kafka))
        prometheus = _start_prometheus(work_dir, rendered["monitoring"], pods)
        stack.callback(prometheus.stop)

        early_503 = _while_predictor_is_down(transformer, kafka, broker, topics)
        predictor.start()
        for server, url in (
            (mlserver.server, f"{mlserver.base_url}/v2/models/{mlserver.model_name}/ready"),
            (transformer.server, f"{transformer.base_url}/v2/models/translator/ready"),
        ):
            server.wait_http_ok(url, WAIT_S)
        up_from = time.time()
        _must(
            lambda: _scraped_since(prometheus, up_from, len(pods)), "every pod scraped",
            state=lambda: _targets(prometheus),
        )

        load_started = time.time()
        traffic = _run_load(prometheus, len(pods), broker, topics, predictor, transformer, mlserver)
        expected = EARLY_RECORDS + traffic.kafka_records
        _must(lambda: _kafka_done(kafka) >= expected, f"{expected} Kafka records written")
        settled = time.time()
        _must(
            lambda: _scraped_since(prometheus, settled + SCRAPE_INTERVAL_S, len(pods))
            and _rules_evaluated_since(prometheus, settled + SCRAPE_INTERVAL_S),
            "scrapes and rule evaluations after the load",
            state=lambda: _targets(prometheus),
        )
        yield LiveStack(
            prometheus=prometheus,
            pods=pods,
            traffic=traffic,
            early_503=early_503,
            load_started=load_started,
            predictor_url=f"http://{predictor.host}",
            transformer_url=transformer.base_url,
            kafka_transformer_url=kafka.base_url,
            mlserver_metrics_url=mlserver.metrics_url,
        )


def _start_prometheus(
    work_dir: Path, monitoring: list[Resource], pods: list[ServedPod]
) -> Prometheus:
    """Scraping `pods` through the rendered PodMonitors, the rendered alerting rules loaded."""
    rules = write_rules_file(monitoring, work_dir)
    config = prometheus_config(
        of_kind(monitoring, "PodMonitor"),
        pods,
        scrape_interval=f"{SCRAPE_INTERVAL_S}s",
        evaluation_interval=f"{SCRAPE_INTERVAL_S}s",
        rule_files=(str(rules),),
    )
    return Prometheus(config, work_dir / "prometheus").start()


def _local_servers(
    predictor: Predictor, transformer: RunningTransformer, mlserver: RunningMLServer,
    kafka: Transformer,
) -> list[LocalServer]:
    """Which rendered component each process stands in for (one pod each)."""
    local = "127.0.0.1"
    return [
        LocalServer("default", "translator", "predictor", "translator-predictor-0",
                    {"http": predictor.host}),
        LocalServer("default", "translator", "transformer", "translator-transformer-0",
                    {"http": f"{local}:{transformer.http_port}"}),
        LocalServer("mlserver", "translator-mlserver", "predictor",
                    "translator-mlserver-predictor-0",
                    {"http": f"{local}:{mlserver.http_port}",
                     "metrics": f"{local}:{mlserver.metrics_port}"}),
        LocalServer("kafka-keda", "translator-kafka-worker", "deployment",
                    "translator-kafka-worker-0", {"http": f"{local}:{kafka.http_port}"}),
    ]


def _while_predictor_is_down(
    transformer: RunningTransformer, kafka: Transformer, broker: KafkaBroker, topics: Topics
) -> int:
    """503s from the transformer and retries in Kafka ingestion; returns the 503 count."""
    statuses = [transformer.predict(v1("My city is big.")).status_code for _ in range(3)]
    assert statuses == [503] * 3, f"transformer without its predictor answered {statuses}"
    broker.produce(topics.input, [kafka_good(1000 + n) for n in range(EARLY_RECORDS)])
    _must(
        lambda: metric_value(kafka.metrics(), "argos_kafka_retries_total") > 0,
        "Kafka ingestion retrying while the predictor is down",
    )
    return len(statuses)


def _run_load(
    prometheus: Prometheus, targets: int, broker: KafkaBroker, topics: Topics,
    predictor: Predictor, transformer: RunningTransformer, mlserver: RunningMLServer,
) -> Traffic:
    """Rounds of traffic until every target has been scraped three times during it."""
    endpoints = [
        Endpoint("transformer", transformer.predict_url, v1, v1(5)),
        Endpoint("predictor-v1", f"http://{predictor.host}/v1/models/translator:predict", v1,
                 v1(3)),
        Endpoint("predictor-v2", f"http://{predictor.host}/v2/models/translator/infer", v2,
                 v2(1.5, "FP32")),
        Endpoint("mlserver", mlserver.infer_url, v2, v2(1.5, "FP32")),
    ]
    producer = broker.producer()
    load = Load(endpoints, producer, topics.input)
    started = time.time()
    try:
        while not (
            load.rounds >= MIN_ROUNDS
            and _scraped_since(prometheus, started + 2 * SCRAPE_INTERVAL_S, targets)
        ):
            if load.rounds >= MAX_ROUNDS or time.time() - started > WAIT_S:
                raise TimeoutError(
                    f"{load.rounds} rounds of load in {time.time() - started:.0f}s, and not "
                    f"three scrapes of every pod:\n{_targets(prometheus)}"
                )
            load.round()
    finally:
        load.close()
        producer.close(10)
    return load.traffic


def _kafka_done(kafka: Transformer) -> float:
    text = kafka.metrics()
    return metric_value(text, "argos_kafka_records_produced_total") + metric_value(
        text, "argos_kafka_records_dead_lettered_total"
    )
