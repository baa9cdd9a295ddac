"""Kafka-only mode (`make run-kafka`, i.e. `python -m argos_transformer --kafka_only`): the
transformer image as an ingestion worker. Two workers run side by side on one machine, each with
its own health/metrics port, configured by the KAFKA_* environment only; they share the
partitions, serve health and metrics but no inference endpoint, and one leaves with SIGTERM
(scale-in) after draining while the other takes over."""

from __future__ import annotations

import os
import signal

import httpx
import pytest

from tests.kafka.accounting import (
    assert_translated,
    collect,
    expected_coordinates,
    good_records,
)
from tests.kafka.services import MODEL, Predictor, Topics
from tests.support.kafka import KafkaBroker, StreamingProducer, wait_until
from tests.support.metrics import metric_value
from tests.support.processes import REPO_ROOT, ServerProcess, free_port

pytestmark = pytest.mark.kafka

DEADLINE = 180.0


class Worker:
    """`make run-kafka` with the test's KAFKA_* environment and its own HTTP_PORT."""

    def __init__(self, broker: KafkaBroker, topics: Topics, predictor: Predictor, log_dir) -> None:
        self.port = free_port()
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap,
            "KAFKA_INPUT_TOPICS": topics.input,
            "KAFKA_OUTPUT_TOPIC": topics.output,
            "KAFKA_DLQ_TOPIC": topics.dlq,
            "KAFKA_GROUP_ID": topics.group,
            "KAFKA_SESSION_TIMEOUT_MS": "6000",
            "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
            "KAFKA_COMMIT_INTERVAL_S": "0.5",
            "MAKEFLAGS": "",
        }
        self.server = ServerProcess(
            ["make", "-s", "--no-print-directory", "run-kafka",
             f"PREDICTOR_HOST={predictor.host}", f"HTTP_PORT={self.port}", f"MODEL_NAME={MODEL}"],
            log_dir / f"worker-{self.port}.log",
            env={**{k: v for k, v in os.environ.items() if not k.startswith("KAFKA_")}, **env},
            cwd=REPO_ROOT,
        ).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", timeout=10)

    def metrics(self) -> str:
        return self.get("/metrics").text

    def answers(self) -> bool:
        try:
            self.get("/v2/health/live")
            return True
        except httpx.HTTPError:
            return False


def test_two_workers_side_by_side_share_the_topic_and_drain_on_sigterm(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor, tmp_path,
) -> None:
    workers = [Worker(kafka_broker, topics, shared_predictor, tmp_path) for _ in range(2)]
    try:
        for worker in workers:
            worker.server.wait_until(
                lambda w=worker: w.get("/v2/health/ready").status_code == 200, 90
            )
        stream = StreamingProducer(
            kafka_broker, topics.input, good_records("worker", 2000), duration=20, ticks_per_s=10
        ).start()
        assert wait_until(lambda: all(
            metric_value(w.metrics(), "argos_kafka_records_consumed_total") > 0 for w in workers
        ), 90), "both workers consume a share of the partitions"
        leaving, staying = workers
        assert leaving.get("/v2/health/live").json() == {"live": True}
        assert leaving.get(f"/v1/models/{MODEL}:predict").status_code == 404, "no front door"

        leaving.server.signal(signal.SIGTERM)
        # it drains while its health and metrics still answer, then stops serving
        assert wait_until(lambda: not leaving.answers(), 90), "the worker exits after SIGTERM"
        log = leaving.server.log()
        assert "kafka drained finished=True" in log, log[-3000:]
        assert "kafka partitions" in log and "revoked, committing" in log
        assert "event=gc_tuned" in log  # garbage collection set up for serving, as over HTTP
        assert stream.join() == 2000
        inputs = expected_coordinates(kafka_broker, topics.input)

        outcome = collect(kafka_broker, topics.output, topics.dlq, inputs, DEADLINE)

        assert outcome.dead == []
        assert_translated(outcome, inputs, "worker", 2000)
        assert staying.get("/v2/health/ready").status_code == 200
    finally:
        for worker in workers:
            worker.server.stop()
