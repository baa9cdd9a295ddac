from __future__ import annotations

import argparse
import os
import socket

import pytest

from argos_transformer.kafka.settings import KafkaSettings


def parse(argv: list[str], monkeypatch: pytest.MonkeyPatch, env: dict[str, str] | None = None):
    for name in list(__import__("os").environ):
        if name.startswith("KAFKA_"):
            monkeypatch.delenv(name)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    parser = argparse.ArgumentParser()
    KafkaSettings.add_arguments(parser)
    return KafkaSettings.from_args(parser.parse_args(argv))


def test_off_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    assert parse([], monkeypatch) is None


def test_output_scores_off_unless_set(monkeypatch: pytest.MonkeyPatch) -> None:
    minimal = {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_INPUT_TOPICS": "in",
               "KAFKA_OUTPUT_TOPIC": "out"}
    assert parse([], monkeypatch, minimal).output_scores is False
    flagged = parse(["--kafka_output_scores", "yes"], monkeypatch, minimal)
    assert flagged.output_scores is True
    with pytest.raises(SystemExit):  # argparse: "not a boolean: 'maybe'"
        parse(["--kafka_output_scores", "maybe"], monkeypatch, minimal)


def test_environment_configures_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = parse([], monkeypatch, {
        "KAFKA_BOOTSTRAP_SERVERS": "b1:9092, b2:9092",
        "KAFKA_INPUT_TOPICS": "in-a,in-b",
        "KAFKA_OUTPUT_TOPIC": "out",
        "KAFKA_DLQ_TOPIC": "dead",
        "KAFKA_GROUP_ID": "g1",
        "KAFKA_MAX_IN_FLIGHT": "32",
        "KAFKA_MAX_BUFFERED": "100",
        "KAFKA_RETRY_BUDGET_S": "60",
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "KAFKA_SASL_USERNAME": "user",
        "KAFKA_SASL_PASSWORD": "secret",
        "KAFKA_SSL_CAFILE": "/etc/ca.pem",
        "KAFKA_SSL_CHECK_HOSTNAME": "false",
        "KAFKA_OUTPUT_SCORES": "true",
    })
    assert settings is not None
    assert settings.output_scores is True
    assert settings.bootstrap_servers == ("b1:9092", "b2:9092")
    assert settings.input_topics == ("in-a", "in-b")
    assert settings.dead_letter_topic == "dead"
    assert settings.max_in_flight == 32
    assert settings.buffered_limit == 100
    assert settings.retry_budget_s == 60.0
    consumer = settings.consumer_config()
    assert consumer["group_id"] == "g1"
    assert consumer["enable_auto_commit"] is False
    assert consumer["sasl_mechanism"] == "SCRAM-SHA-512"
    assert consumer["sasl_plain_username"] == "user"
    assert consumer["ssl_cafile"] == "/etc/ca.pem"
    assert consumer["ssl_check_hostname"] is False
    assert consumer["fetch_max_wait_ms"] == 100
    producer = settings.producer_config()
    assert producer["acks"] == "all"
    # order without idempotence (kafka-python 3.0.12's idempotent producer dies on one
    # oversized record: see settings.py and test_fault_matrix.py)
    assert producer["enable_idempotence"] is False
    assert producer["max_in_flight_requests_per_connection"] == 1


def test_flags_override_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = parse(
        ["--kafka_output_topic", "flag-out", "--kafka_max_in_flight", "8"],
        monkeypatch,
        {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_INPUT_TOPICS": "in",
         "KAFKA_OUTPUT_TOPIC": "env-out"},
    )
    assert settings.output_topic == "flag-out"
    assert settings.max_in_flight == 8
    assert settings.buffered_limit == 32, "by default 4 x max in-flight"
    assert settings.dead_letter_topic == "flag-out.dlq"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAFKA_OUTPUT_TOPIC": "out"}, "input topic"),
        ({"KAFKA_INPUT_TOPICS": "in"}, "output topic"),
        ({"KAFKA_INPUT_TOPICS": "in", "KAFKA_OUTPUT_TOPIC": "in"}, "differ"),
        ({"KAFKA_INPUT_TOPICS": "in", "KAFKA_OUTPUT_TOPIC": "out", "KAFKA_MAX_IN_FLIGHT": "0"},
         "in-flight"),
        ({"KAFKA_INPUT_TOPICS": "in", "KAFKA_OUTPUT_TOPIC": "out", "KAFKA_MAX_IN_FLIGHT": "64",
          "KAFKA_MAX_BUFFERED": "32"}, "max buffered"),
        ({"KAFKA_INPUT_TOPICS": "in", "KAFKA_OUTPUT_TOPIC": "out", "KAFKA_MAX_BUFFERED": "-1"},
         "max buffered"),
        ({"KAFKA_INPUT_TOPICS": "in", "KAFKA_OUTPUT_TOPIC": "out",
          "KAFKA_SECURITY_PROTOCOL": "SASL_SSL"}, "sasl_mechanism"),
    ],
)
def test_incomplete_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse([], monkeypatch, {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", **env})


MINIMAL = {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_INPUT_TOPICS": "in",
           "KAFKA_OUTPUT_TOPIC": "out"}


def test_exactly_once_is_transactional_and_reads_committed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = parse([], monkeypatch, {
        **MINIMAL, "KAFKA_GROUP_ID": "g1", "KAFKA_PROCESSING_GUARANTEE": "exactly_once",
        "KAFKA_TRANSACTION_TIMEOUT_MS": "5000",
    })
    assert settings.exactly_once
    assert settings.consumer_config()["isolation_level"] == "read_committed"
    producer = settings.producer_config()
    assert producer["transactional_id"] == f"g1-{socket.gethostname()}-{os.getpid()}"
    assert producer["transaction_timeout_ms"] == 5000
    assert "enable_idempotence" not in producer, "a transactional producer is idempotent"
    at_least_once = parse([], monkeypatch, MINIMAL)
    assert not at_least_once.exactly_once
    assert at_least_once.consumer_config()["isolation_level"] == "read_uncommitted"
    assert "transactional_id" not in at_least_once.producer_config()


def test_one_byte_limit_for_http_bodies_and_kafka_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """The transformer's --max_record_bytes bounds Kafka record values too (no Kafka flag)."""
    for name in list(os.environ):
        if name.startswith("KAFKA_"):
            monkeypatch.delenv(name)
    parser = argparse.ArgumentParser()
    parser.add_argument("--max_record_bytes", type=int, default=1 << 20)
    KafkaSettings.add_arguments(parser)
    args = parser.parse_args([
        "--max_record_bytes", "4096", "--kafka_bootstrap_servers", "b:9092",
        "--kafka_input_topics", "in", "--kafka_output_topic", "out",
    ])
    assert KafkaSettings.from_args(args).max_record_bytes == 4096
    with pytest.raises(SystemExit):
        parser.parse_args(["--kafka_max_record_bytes", "4096"])


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAFKA_PROCESSING_GUARANTEE": "twice"}, "processing guarantee"),
        ({"KAFKA_TRANSACTION_TIMEOUT_MS": "10"}, "transaction timeout"),
        ({"KAFKA_DLQ_TOPIC": "in"}, "differ"),
    ],
)
def test_bad_guarantee_settings_are_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        parse([], monkeypatch, {**MINIMAL, **env})


def test_commit_interval_follows_the_guarantee_unless_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    minimal = {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_INPUT_TOPICS": "in",
               "KAFKA_OUTPUT_TOPIC": "out"}
    assert parse([], monkeypatch, minimal).commit_interval_s == 1.0
    # Exactly once, outputs are visible to read_committed readers at each commit only.
    eos = ["--kafka_processing_guarantee", "exactly_once"]
    assert parse(eos, monkeypatch, minimal).commit_interval_s == 0.1
    chosen = parse([*eos, "--kafka_commit_interval_s", "2.5"], monkeypatch, minimal)
    assert chosen.commit_interval_s == 2.5
    with pytest.raises(ValueError, match="commit interval"):
        parse(["--kafka_commit_interval_s", "-1"], monkeypatch, minimal)


def test_a_bad_environment_value_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    minimal = {"KAFKA_BOOTSTRAP_SERVERS": "b:9092", "KAFKA_INPUT_TOPICS": "in",
               "KAFKA_OUTPUT_TOPIC": "out"}
    for name, value in (("KAFKA_OUTPUT_SCORES", "maybe"), ("KAFKA_MAX_IN_FLIGHT", "many")):
        with pytest.raises(SystemExit) as exited:
            parse([], monkeypatch, {**minimal, name: value})
        assert exited.value.code == 2
        assert repr(value) in capsys.readouterr().err
