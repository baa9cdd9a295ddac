"""The Prometheus text reader lives in `harness.metrics` (shared with the benchmarks)."""

from harness.metrics import metric_value

__all__ = ["metric_value"]
