"""The largest record each output topic takes (`max.message.bytes`), known before writing.

A translation larger than its topic accepts is dead-lettered before it is sent: in exactly-once
mode a write the broker refuses would abort the whole transaction (and kafka-python then fails
every other pending write with the same error, so the culprit could not be told apart). The
limits are read once per topic with the admin API (DescribeConfigs) and again after the broker
refused a write as too large; where that API is not allowed, there is no check beforehand and
the broker's refusal is handled instead (see `commits` and `writer`).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from kafka.admin import ConfigResource, ConfigResourceType
from kafka.errors import KafkaError
from kafka.record.default_records import DefaultRecordBatchBuilder

from argos_transformer.kafka.outbound import OutboundRecord

log = logging.getLogger("argos_transformer.kafka")

MAX_MESSAGE_BYTES = "max.message.bytes"


def batch_size(record: OutboundRecord) -> int:
    """Upper bound of the record's size as a batch of its own, as the broker measures it."""
    headers: Sequence[tuple[str, bytes]] = record.headers or []
    return DefaultRecordBatchBuilder.estimate_size_in_bytes(record.key, record.value, headers)


class TopicLimits:
    """`max.message.bytes` per topic, looked up on first use (thread-safe, blocking)."""

    def __init__(self, new_admin: Callable[[], Any]) -> None:
        self._new_admin = new_admin
        self._limits: dict[str, int | None] = {}
        self._lock = threading.Lock()

    def fits(self, record: OutboundRecord) -> bool:
        limit = self.limit(record.topic)
        return limit is None or batch_size(record) <= limit

    def limit(self, topic: str) -> int | None:
        with self._lock:
            if topic not in self._limits:
                self._limits[topic] = self._look_up(topic)
            return self._limits[topic]

    def forget(self, topic: str) -> None:
        """The broker refused a write as too large: read the limit again on next use."""
        with self._lock:
            self._limits.pop(topic, None)

    def _look_up(self, topic: str) -> int | None:
        resource = ConfigResource(
            ConfigResourceType.TOPIC, topic, configs={MAX_MESSAGE_BYTES: None}
        )
        admin = None
        try:
            admin = self._new_admin()
            found = admin.describe_configs([resource], config_filter="all")
            value = found.get("topic", {}).get(topic, {}).get(MAX_MESSAGE_BYTES, {}).get("value")
        except KafkaError as exc:  # (until the broker refuses a write: forget() tries again)
            log.warning(
                "kafka cannot read %s of %s (%r): oversized translations are only caught when "
                "the broker refuses them", MAX_MESSAGE_BYTES, topic, exc,
            )
            return None
        finally:
            if admin is not None:
                admin.close()
        log.info("kafka topic %s takes records up to %s bytes", topic, value)
        return int(value) if value is not None else None
