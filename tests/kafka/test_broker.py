"""The broker tooling itself: the session broker works, and `broker.sh up/down` (what
`make kafka-up` / `make kafka-down` run) starts, reports and stops a broker."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.support.kafka import BROKER_SCRIPT, KAFKA_LIB_DIR, KafkaBroker, unique
from tests.support.processes import free_port

pytestmark = pytest.mark.kafka


def test_session_broker_round_trips_records(kafka_broker: KafkaBroker) -> None:
    topic = unique("roundtrip")
    kafka_broker.create_topics(topic, partitions=2)
    sent = kafka_broker.produce(topic, [(f"k{i}".encode(), f"v{i}".encode()) for i in range(50)])
    records = kafka_broker.read_all(topic, until=lambda got: len(got) >= sent, timeout=30)
    assert sorted(r.value for r in records) == sorted(f"v{i}".encode() for i in range(50))


def test_broker_script_up_status_down(tmp_path) -> None:
    port = free_port()
    env = {
        **os.environ,
        # one random id in 64 starts with "-" (URL-safe base64); the formatter must take it
        "KAFKA_CLUSTER_ID": "-oG9L40Ovqno11jtN4GnYw",
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(free_port()),
        "KAFKA_DATA_DIR": str(tmp_path / "data"),
        "KAFKA_LIB_DIR": str(KAFKA_LIB_DIR),
    }

    def script(command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(BROKER_SCRIPT), command], env=env, capture_output=True, text=True, timeout=120
        )

    try:
        up = script("up")
        assert up.returncode == 0, up.stderr
        assert f"ready on 127.0.0.1:{port}" in up.stderr
        again = script("up")
        assert again.returncode == 0 and "already running" in again.stderr
        status = script("status")
        assert status.returncode == 0 and "running" in status.stdout
        broker = KafkaBroker(tmp_path / "unused", port=port)
        topic = unique("script")
        broker.create_topics(topic, partitions=1)
        assert broker.produce(topic, [(None, b"hello")]) == 1
    finally:
        down = script("down")
    assert down.returncode == 0 and "stopped" in down.stderr
    assert script("status").returncode == 1
    assert not (tmp_path / "data" / "broker.pid").exists()
