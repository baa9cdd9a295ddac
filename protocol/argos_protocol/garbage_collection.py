"""Garbage collection set up for serving, the same way by every server process (the KServe
predictor, MLServer's runtime, the transformer over HTTP or in Kafka-only mode), once what it
serves is loaded.

Startup (imports, the model, the app) makes most of what a server process will ever hold, and
it lives as long as the process: frozen out of the collector's sight (`gc.freeze`), full
collections stop traversing it. The young generation is collected after 10,000 net allocations
instead of CPython's 700, which the state of a few dozen requests in flight crossed about once
per five requests. Together they took about a fifth of the transformer's CPU per request at 32
concurrent requests (docs/transformer.md, Overhead). Cyclic garbage waits for at most 10,000
allocations: a few MB.
"""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)

YOUNG_GENERATION_THRESHOLD = 10_000


def collect_for_serving() -> None:
    """Collect startup's garbage, freeze what is left and raise the young threshold."""
    gc.collect()
    gc.freeze()
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, oldest)
    logger.info(
        "event=gc_tuned frozen_objects=%d young_threshold=%d",
        gc.get_freeze_count(), YOUNG_GENERATION_THRESHOLD,
    )
