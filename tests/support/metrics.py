"""The Prometheus text reader lives in `harness.metrics` (shared with the benchmarks)."""

import httpx

from harness.metrics import metric_value

__all__ = ["metric_value", "young_gc_collections"]


def young_gc_collections(metrics_url: str) -> float:
    """How often the process has collected its youngest generation (prometheus_client's
    `python_gc_collections_total`)."""
    text = httpx.get(metrics_url, timeout=10).text
    # (metric_value reads an absent metric as 0, which would let any count pass)
    assert 'python_gc_collections_total{generation="0"}' in text, "gc metrics are exported"
    return metric_value(text, "python_gc_collections_total", generation="0")
