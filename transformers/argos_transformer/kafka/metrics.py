"""Prometheus metrics of Kafka ingestion (default registry: the transformer's /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

CONSUMED = Counter(
    "argos_kafka_records_consumed_total", "Records taken from the input topics", ["topic"]
)
PRODUCED = Counter(
    "argos_kafka_records_produced_total",
    "Translations written to the output topic and acknowledged by the broker",
    ["topic"],
)
DEAD_LETTERED = Counter(
    "argos_kafka_records_dead_lettered_total",
    "Records written to the dead-letter topic and acknowledged, by error class",
    ["topic", "error_class"],
)
RETRIED = Counter(
    "argos_kafka_retries_total", "Translation attempts retried after a transient fault",
    ["error_class"],
)
REWOUND = Counter(
    "argos_kafka_partition_rewinds_total",
    "Partitions re-read from their done mark after a produce failure",
    ["topic"],
)
COMMITS = Counter("argos_kafka_offset_commits_total", "Offset commits sent to the group")
IN_FLIGHT = Gauge(
    "argos_kafka_records_in_flight",
    "Records taken and not yet acknowledged (translating, waiting for their turn, being written)",
)
TRANSLATING = Gauge(
    "argos_kafka_records_translating", "Records being translated (at most max in-flight)"
)
PAUSED = Gauge("argos_kafka_partitions_paused", "Assigned partitions currently paused")
LAG = Gauge(
    "argos_kafka_consumer_lag",
    "Records in the partition after the position the group would resume from (at least once: "
    "the contiguous done mark; exactly once: the last committed transaction)",
    ["topic", "partition"],
)
LATENCY = Histogram(
    "argos_kafka_record_latency_seconds",
    "From taking a record to the broker acknowledging its output or dead-letter record",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
REBALANCE_EVENTS = Counter(
    "argos_kafka_rebalance_events_total",
    "Partition hand-overs seen by this member: assigned, revoked or lost",
    ["event"],
)
JOINS_APPLIED = Counter(
    "argos_kafka_joins_completed_between_polls_total",
    "Group joins that completed while no poll waited, applied instead of sent again "
    "(kafka-python 3.0.12 would throw them away and rebalance again)",
)
TRANSACTIONS = Counter(
    "argos_kafka_transactions_total",
    "Exactly-once transactions by outcome: committed, aborted, or fatal (producer replaced)",
    ["outcome"],
)
