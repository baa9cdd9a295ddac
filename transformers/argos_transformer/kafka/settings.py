"""Kafka ingestion settings: CLI flags, each defaulting from an environment variable.

Kafka is off unless bootstrap servers are configured (`--kafka_bootstrap_servers` or
`KAFKA_BOOTSTRAP_SERVERS`); then input topics and an output topic are required.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from argos_transformer.codecs.records import DEFAULT_MAX_RECORD_BYTES

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER", "GSSAPI")
AT_LEAST_ONCE = "at_least_once"
EXACTLY_ONCE = "exactly_once"
PROCESSING_GUARANTEES = (AT_LEAST_ONCE, EXACTLY_ONCE)
COMMIT_INTERVAL_S = 1.0
EXACTLY_ONCE_COMMIT_INTERVAL_S = 0.1


@dataclass(frozen=True)
class KafkaSettings:
    bootstrap_servers: tuple[str, ...]
    input_topics: tuple[str, ...]
    output_topic: str
    dead_letter_topic: str = ""  # "" = <output>.dlq
    group_id: str = "argos-translator"
    client_id: str = field(default_factory=lambda: f"argos-transformer-{socket.gethostname()}")
    auto_offset_reset: str = "earliest"
    processing_guarantee: str = AT_LEAST_ONCE
    # Exactly once: one transactional producer per process. "" = <group>-<host>-<pid>: unique
    # among processes running side by side, and the same for a container restarted in its pod
    # (python is PID 1 there), which then fences its previous incarnation at once.
    transactional_id: str = ""
    transaction_timeout_ms: int = 10_000
    # Delivery.
    max_in_flight: int = 64  # records being translated
    # records taken and not yet acknowledged by the broker; 0 = 4 x max_in_flight
    max_buffered: int = 0
    # the transformer's one byte limit (--max_record_bytes): larger values are dead-lettered
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES
    # 0 = by guarantee: 1 s at least once; 0.1 s exactly once, where outputs become visible
    # to read_committed readers only at each commit (Kafka Streams' defaults are alike).
    commit_interval_s: float = 0.0
    # Transient faults: capped exponential backoff; 0 budget = retry forever.
    retry_backoff_s: float = 0.2
    retry_backoff_max_s: float = 10.0
    retry_budget_s: float = 0.0
    produce_timeout_s: float = 120.0
    drain_timeout_s: float = 20.0
    # Output records carry "score", the model's confidence in the translation (0-1).
    output_scores: bool = False
    # Group membership.
    session_timeout_ms: int = 10_000
    heartbeat_interval_ms: int = 3_000
    max_poll_interval_ms: int = 300_000
    # Security passthrough (kafka-python names).
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str | None = None
    sasl_username: str | None = None
    sasl_password: str | None = None
    ssl_cafile: str | None = None
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    ssl_password: str | None = None
    ssl_check_hostname: bool = True

    def __post_init__(self) -> None:
        if not self.bootstrap_servers:
            raise ValueError("kafka: bootstrap servers are required")
        if not self.input_topics:
            raise ValueError("kafka: at least one input topic is required (KAFKA_INPUT_TOPICS)")
        if not self.output_topic:
            raise ValueError("kafka: an output topic is required (KAFKA_OUTPUT_TOPIC)")
        if not self.dead_letter_topic:
            object.__setattr__(self, "dead_letter_topic", f"{self.output_topic}.dlq")
        if not self.transactional_id:
            object.__setattr__(
                self, "transactional_id",
                f"{self.group_id}-{socket.gethostname()}-{os.getpid()}",
            )
        if {self.output_topic, self.dead_letter_topic} & set(self.input_topics):
            raise ValueError("kafka: the output and DLQ topics must differ from the input topics")
        if self.processing_guarantee not in PROCESSING_GUARANTEES:
            raise ValueError(
                f"kafka: processing guarantee must be one of {PROCESSING_GUARANTEES}, "
                f"not {self.processing_guarantee!r}"
            )
        if self.transaction_timeout_ms < 1000:
            raise ValueError("kafka: the transaction timeout must be at least 1000 ms")
        if self.max_in_flight < 1:
            raise ValueError("kafka: max in-flight must be at least 1")
        if self.max_buffered and self.max_buffered < self.max_in_flight:
            raise ValueError(
                f"kafka: max buffered ({self.max_buffered}) must be 0 or at least max in-flight "
                f"({self.max_in_flight})"
            )
        if self.commit_interval_s < 0:
            raise ValueError("kafka: the commit interval must be >= 0 (0 = by guarantee)")
        if not self.commit_interval_s:
            object.__setattr__(
                self, "commit_interval_s",
                EXACTLY_ONCE_COMMIT_INTERVAL_S if self.exactly_once else COMMIT_INTERVAL_S,
            )
        if self.retry_backoff_s <= 0 or self.retry_backoff_max_s < self.retry_backoff_s:
            raise ValueError("kafka: retry backoff must be > 0 and at most its cap")
        if self.retry_budget_s < 0:
            raise ValueError("kafka: retry budget must be >= 0 (0 = retry forever)")
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(f"kafka: security protocol must be one of {SECURITY_PROTOCOLS}")
        if self.sasl_mechanism and self.sasl_mechanism not in SASL_MECHANISMS:
            raise ValueError(f"kafka: SASL mechanism must be one of {SASL_MECHANISMS}")
        if self.security_protocol.startswith("SASL") and not self.sasl_mechanism:
            raise ValueError("kafka: a SASL security protocol needs --kafka_sasl_mechanism")

    @property
    def exactly_once(self) -> bool:
        return self.processing_guarantee == EXACTLY_ONCE

    @property
    def buffered_limit(self) -> int:
        return self.max_buffered or 4 * self.max_in_flight

    def connection_config(self) -> dict[str, Any]:
        """Settings shared by the consumer and producer: servers and security."""
        config: dict[str, Any] = {
            "bootstrap_servers": list(self.bootstrap_servers),
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
        }
        optional = {
            "sasl_mechanism": self.sasl_mechanism,
            "sasl_plain_username": self.sasl_username,
            "sasl_plain_password": self.sasl_password,
            "ssl_cafile": self.ssl_cafile,
            "ssl_certfile": self.ssl_certfile,
            "ssl_keyfile": self.ssl_keyfile,
            "ssl_password": self.ssl_password,
        }
        config.update({key: value for key, value in optional.items() if value})
        if "SSL" in self.security_protocol:
            config["ssl_check_hostname"] = self.ssl_check_hostname
        return config

    def consumer_config(self) -> dict[str, Any]:
        return {
            **self.connection_config(),
            # Exactly once reads only committed input, and the committed offsets once no
            # transaction still pending on them could move them (KIP-447's stable offsets).
            "isolation_level": "read_committed" if self.exactly_once else "read_uncommitted",
            "group_id": self.group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": self.auto_offset_reset,
            "session_timeout_ms": self.session_timeout_ms,
            "heartbeat_interval_ms": self.heartbeat_interval_ms,
            "max_poll_interval_ms": self.max_poll_interval_ms,
            "max_poll_records": self.max_in_flight,
            # kafka-python keeps one fetch in flight per broker. The bridge pauses partitions
            # often (full window, retries), so that fetch may ask only for caught-up partitions
            # and the broker holds it for fetch_max_wait_ms (default 500) while the others'
            # records wait behind it: seen as half-second stalls in a backlog.
            "fetch_max_wait_ms": 100,
            "max_partition_fetch_bytes": max(1 << 20, self.max_record_bytes + 1024),
        }

    def producer_config(self) -> dict[str, Any]:
        """At least once: acks=all, one request in flight per broker (per-partition order
        survives the producer's own retries) and not idempotent: kafka-python 3.0.12's
        idempotent producer turns any non-retriable batch error (e.g. one translation over the
        output topic's max.message.bytes) into a fatal state that fails every later send,
        forever. Without it, only that record's send fails and it is dead-lettered; a producer
        retry may write a record twice (same id), as after any at-least-once redelivery.

        Exactly once: transactional (hence idempotent), where such an error only aborts the
        current transaction."""
        config = {
            **self.connection_config(),
            "acks": "all",
            "max_in_flight_requests_per_connection": 1,
            "linger_ms": 5,
            "delivery_timeout_ms": int(self.produce_timeout_s * 1000),
            "request_timeout_ms": min(30_000, int(self.produce_timeout_s * 1000)),
            "max_request_size": max(1 << 20, 2 * self.max_record_bytes + 64 * 1024),
            "max_block_ms": 10_000,
        }
        if self.exactly_once:
            config["transactional_id"] = self.transactional_id
            config["transaction_timeout_ms"] = self.transaction_timeout_ms
        else:
            config["enable_idempotence"] = False
        return config

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        group = parser.add_argument_group(
            "Kafka ingestion", "off unless bootstrap servers are set; each flag defaults from env"
        )
        # argparse converts a string default with the flag's type, so a bad environment value
        # is a usage error naming the flag, like a bad flag.
        for flag, env, kind, help_text in _FLAGS:
            group.add_argument(
                f"--{flag}",
                type=_parse_bool if kind is bool else kind,
                default=os.environ.get(env),
                metavar="BOOL" if kind is bool else None,
                help=f"{help_text} [env {env}]",
            )

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> KafkaSettings | None:
        """The settings, or None when Kafka is off (no bootstrap servers)."""
        values = vars(args)
        servers = _split(values.get("kafka_bootstrap_servers"))
        if not servers:
            return None
        return cls.from_mapping(values, servers)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any], servers: tuple[str, ...]) -> KafkaSettings:
        kwargs: dict[str, Any] = {
            "bootstrap_servers": servers,
            "input_topics": _split(values.get("kafka_input_topics")),
            "output_topic": values.get("kafka_output_topic") or "",
        }
        for flag, _env, kind, _help in _FLAGS:
            value = values.get(flag)
            if flag in _STRUCTURAL or value is None or value == "":
                continue
            field_name = _FIELDS.get(flag, flag.removeprefix("kafka_"))
            kwargs[field_name] = (_parse_bool if kind is bool else kind)(value)
        if values.get("max_record_bytes") is not None:  # the transformer's own byte limit
            kwargs["max_record_bytes"] = int(values["max_record_bytes"])
        return cls(**kwargs)


def _split(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def _parse_bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"not a boolean: {value!r}")


# (flag, environment variable, type, help)
_FLAGS: tuple[tuple[str, str, Any, str], ...] = (
    ("kafka_bootstrap_servers", "KAFKA_BOOTSTRAP_SERVERS", str,
     "comma-separated host:port list; enables Kafka ingestion"),
    ("kafka_input_topics", "KAFKA_INPUT_TOPICS", str, "comma-separated topics to translate"),
    ("kafka_output_topic", "KAFKA_OUTPUT_TOPIC", str, "topic for translations"),
    ("kafka_output_scores", "KAFKA_OUTPUT_SCORES", bool,
     "output records carry \"score\", the model's confidence in the translation, 0-1 "
     "(default false)"),
    ("kafka_dlq_topic", "KAFKA_DLQ_TOPIC", str,
     "dead-letter topic for records that can never succeed (default <output>.dlq)"),
    ("kafka_group_id", "KAFKA_GROUP_ID", str, "consumer group (default argos-translator)"),
    ("kafka_processing_guarantee", "KAFKA_PROCESSING_GUARANTEE", str,
     "at_least_once (default) or exactly_once: outputs, dead letters and consumed offsets "
     "committed in one Kafka transaction (read the output with isolation.level=read_committed)"),
    ("kafka_transactional_id", "KAFKA_TRANSACTIONAL_ID", str,
     "exactly once: this process's transactional id, unique among running processes "
     "(default <group>-<host>-<pid>)"),
    ("kafka_transaction_timeout_ms", "KAFKA_TRANSACTION_TIMEOUT_MS", int,
     "exactly once: the broker aborts a transaction left open longer (default 10000)"),
    ("kafka_client_id", "KAFKA_CLIENT_ID", str, "client id (default argos-transformer-<host>)"),
    ("kafka_auto_offset_reset", "KAFKA_AUTO_OFFSET_RESET", str,
     "where a new group starts: earliest (default) or latest"),
    ("kafka_max_in_flight", "KAFKA_MAX_IN_FLIGHT", int,
     "records translated concurrently (default 64)"),
    ("kafka_max_buffered", "KAFKA_MAX_BUFFERED", int,
     "records held from poll to the broker's acknowledgement: translating, waiting for their "
     "partition's turn or being written (default 0 = 4 x max in-flight)"),
    ("kafka_commit_interval_s", "KAFKA_COMMIT_INTERVAL_S", float,
     "seconds between offset commits, or transactions with exactly once (default 0: 1 at "
     "least once, 0.1 exactly once)"),
    ("kafka_retry_backoff_s", "KAFKA_RETRY_BACKOFF_S", float,
     "first retry delay after a transient fault (default 0.2)"),
    ("kafka_retry_backoff_max_s", "KAFKA_RETRY_BACKOFF_MAX_S", float,
     "retry delay cap (default 10)"),
    ("kafka_retry_budget_s", "KAFKA_RETRY_BUDGET_S", float,
     "seconds a record may keep failing transiently before ingestion stops uncommitted "
     "(0 = retry forever, the default)"),
    ("kafka_produce_timeout_s", "KAFKA_PRODUCE_TIMEOUT_S", float,
     "producer delivery timeout before a partition is rewound (default 120)"),
    ("kafka_drain_timeout_s", "KAFKA_DRAIN_TIMEOUT_S", float,
     "on shutdown, seconds to finish in-flight records (default 20)"),
    ("kafka_session_timeout_ms", "KAFKA_SESSION_TIMEOUT_MS", int,
     "group session timeout (default 10000)"),
    ("kafka_heartbeat_interval_ms", "KAFKA_HEARTBEAT_INTERVAL_MS", int,
     "group heartbeat interval (default 3000)"),
    ("kafka_max_poll_interval_ms", "KAFKA_MAX_POLL_INTERVAL_MS", int,
     "group max poll interval (default 300000)"),
    ("kafka_security_protocol", "KAFKA_SECURITY_PROTOCOL", str,
     "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"),
    ("kafka_sasl_mechanism", "KAFKA_SASL_MECHANISM", str,
     "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER or GSSAPI"),
    ("kafka_sasl_username", "KAFKA_SASL_USERNAME", str, "SASL user"),
    ("kafka_sasl_password", "KAFKA_SASL_PASSWORD", str, "SASL password"),
    ("kafka_ssl_cafile", "KAFKA_SSL_CAFILE", str, "CA bundle for the brokers' certificates"),
    ("kafka_ssl_certfile", "KAFKA_SSL_CERTFILE", str, "client certificate (mutual TLS)"),
    ("kafka_ssl_keyfile", "KAFKA_SSL_KEYFILE", str, "client key (mutual TLS)"),
    ("kafka_ssl_password", "KAFKA_SSL_PASSWORD", str, "password of the client key"),
    ("kafka_ssl_check_hostname", "KAFKA_SSL_CHECK_HOSTNAME", bool,
     "verify the broker host name (default true)"),
)
# Flags read explicitly in from_mapping; every other flag sets the field named without "kafka_",
# or the one named here.
_STRUCTURAL = frozenset({"kafka_bootstrap_servers", "kafka_input_topics", "kafka_output_topic"})
_FIELDS = {"kafka_dlq_topic": "dead_letter_topic"}
