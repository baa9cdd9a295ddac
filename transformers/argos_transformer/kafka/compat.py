"""A work-around for kafka-python 3.0.x's fetcher losing track of paused partitions.

When a partition is paused while part of its fetched records are still waiting to be returned,
the fetcher parks them (`_paused_partition_records`) and stops fetching that partition until
they are restored. It only restores them while no other partition's records are in line, and
a drained record batch stays "in line", so after resume() the partition is never fetched again
(and a rebalance does not clear the parked batch either). Dropping a parked batch is safe: the
consumer position only moves past records `poll()` returned, so the next fetch starts exactly
where the dropped batch did.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger("argos_transformer.kafka")


def release_parked_fetches(consumer: Any) -> int:
    """Drop parked record batches of partitions that are no longer paused; returns how many."""
    fetcher = getattr(consumer, "_fetcher", None)
    parked = getattr(fetcher, "_paused_partition_records", None)
    subscription = getattr(consumer, "_subscription", None)
    if not parked or subscription is None:
        return 0
    released = 0
    for tp in list(parked):
        assigned = subscription.is_assigned(tp)
        if assigned and subscription.is_paused(tp):
            continue
        batch = parked.pop(tp, None)
        if batch is not None:
            batch.drain()
            released += 1
            log.debug("released a parked fetch of %s (assigned=%s)", tp, assigned)
    return released
