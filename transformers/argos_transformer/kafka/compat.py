"""Work-arounds for kafka-python 3.0.12 defects the delivery loop would otherwise hit, the
hand-off from its rebalance listener to the bridge loop, and bounded waits for the transaction
calls that kafka-python lets wait forever.

Parked fetches. When a partition is paused while part of its fetched records are still waiting
to be returned, the fetcher parks them (`_paused_partition_records`) and stops fetching that
partition until they are restored. It only restores them while no other partition's records are
in line, and a drained record batch stays "in line", so after resume() the partition is never
fetched again (and a rebalance does not clear the parked batch either). Dropping a parked batch
is safe: the consumer position only moves past records `poll()` returned, so the next fetch
starts exactly where the dropped batch did.

Joins completed between polls. `BaseCoordinator.join_group_async` keeps its JoinGroup/SyncGroup
round in `_join_task` so that a poll whose timer runs out leaves it in flight for the next poll,
but a round that *completes* between two polls is never applied. Either the next poll treats it
as stale, throws the assignment away and sends a new JoinGroup (from the group leader, another
rebalance: every member revokes again, and the next round can be lost the same way), or, when the
round itself cleared the reason to rejoin (the leader rejoining after a metadata change, e.g. a
topic created after the member joined), nothing is sent at all: the member keeps its old (often
empty) assignment with heartbeats off, for good. A round only completes inside a poll when the
poll waits long enough; with short polls, pauses between them (a busy process) or a poll timer
used up by the revocation listener, it usually completes outside.
`apply_joins_completed_between_polls` makes the next poll apply such a round, as the poll that
was waiting would have.

Positions kept across an eager rebalance. kafka-python keeps the fetch position of a partition
that is revoked and then assigned back to the same member in the next round (Java's consumer
drops the whole assignment once its revocation listener returns). The position is where the
member's fetches had got to, not what the group committed: records the member abandoned on
revocation (still translating after the grace, or behind a rewind whose seek had not been
applied yet) would be skipped, and the next commit would move the group past them.
`forget_revoked_positions`, called once the revocation listener is done, makes a partition that
comes back start from the group's committed offset, as one taken over from another member does.

Producers that outlive close(). `KafkaProducer.close(timeout)` flushes first and, when the
flush times out (batches a broker restart left stuck, a fenced producer's writes), raises before
it stops the sender thread: the producer lives on, retrying and bumping its epoch, until the
garbage collector finalises it, and its `__del__` flushes for another second on whichever thread
the collection happens to run (the event loop, the consumer's IO thread). `close_producer`
stops the sender in any case.
"""

from __future__ import annotations

import concurrent.futures
import logging
from collections.abc import Callable, Iterable
from typing import Any

from kafka.coordinator.base import MemberState
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.future import Future as KafkaFuture

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


def forget_revoked_positions(consumer: Any, revoked: Iterable[Any]) -> None:
    """Drop `consumer`'s state (fetch position, pause) for the `revoked` partitions: if one is
    assigned to it again, it is read from the group's committed offset."""
    subscription = consumer._subscription
    assigned, revoked = subscription.assigned_partitions(), set(revoked)
    kept = [tp for tp in assigned if tp not in revoked]
    if len(kept) < len(assigned):
        subscription.assign_from_subscribed(kept)


def close_producer(producer: Any, timeout_s: float) -> None:
    """Close `producer`, waiting at most `timeout_s` for what it still has to send; what is left
    after that fails (the sender thread is stopped either way)."""
    try:
        producer.close(timeout=timeout_s)
    except KafkaError as exc:
        log.info("kafka producer not flushed in %.0fs, closing it anyway: %r", timeout_s, exc)
        sender = producer._sender
        sender.force_close()  # fails every batch it still holds, as it exits
        sender.join(max(timeout_s, 1.0))
        producer.close(timeout=0)


def apply_joins_completed_between_polls(
    consumer: Any, on_applied: Callable[[], None] | None = None
) -> None:
    """Make `consumer`'s coordinator apply a join round that completed while no poll waited
    (`on_applied` is called each time).

    A completed round is applied only if nothing has changed the member's generation since,
    exactly as `join_group_async` applies a round it was waiting for; a failed round is left
    to kafka-python, which retries it.
    """
    coordinator = consumer._coordinator
    join_group_async = coordinator.join_group_async
    need_rejoin = coordinator.need_rejoin
    do_join_and_sync = coordinator._do_join_and_sync_async
    completed: dict[str, Any] = {}

    async def joined_and_synced() -> bytes:
        assignment = await do_join_and_sync()
        completed["generation"] = coordinator._generation
        return assignment

    def unapplied() -> Any:
        """The round that completed while no poll waited, if it is still the member's."""
        task = coordinator._join_task
        if (
            task is not None
            and task.is_done
            and task.succeeded()
            and completed.get("generation") is coordinator._generation
        ):
            return task
        return None

    def needs_rejoin() -> bool:
        # poll() only goes near the join when this says so
        return unapplied() is not None or need_rejoin()

    async def join_group(timeout_ms: Any = None) -> bool:
        task = unapplied()
        if task is None:
            return await join_group_async(timeout_ms)
        coordinator._join_task = None
        generation = coordinator._generation
        with coordinator._lock:
            coordinator.rejoining = False
            coordinator.rejoin_needed = False
            coordinator.state = MemberState.STABLE
            coordinator._enable_heartbeat()
        if on_applied is not None:
            on_applied()
        log.info(
            "kafka applied a group join that completed between polls generation=%d",
            generation.generation_id,
        )
        await coordinator._on_join_complete_async(
            generation.generation_id, generation.member_id, generation.protocol, task.value
        )
        return True

    coordinator._do_join_and_sync_async = joined_and_synced
    coordinator.join_group_async = join_group
    coordinator.need_rejoin = needs_rejoin


def resolved_on_io_loop(consumer: Any, done: concurrent.futures.Future[Any]) -> KafkaFuture:
    """A kafka-python future that settles like `done`, on `consumer`'s IO thread.

    A rebalance listener runs on that thread, inside poll(): awaiting this future (rather than
    blocking on `done`) lets the IO loop go on with heartbeats and responses meanwhile. It is
    settled through the loop's thread-safe queue because a future settled from another thread
    would not wake the loop.
    """
    settled = KafkaFuture()

    def settle() -> None:
        if done.cancelled():
            settled.failure(KafkaError("the bridge loop stopped"))
        elif done.exception() is not None:
            settled.failure(done.exception())
        else:
            settled.success(done.result())

    done.add_done_callback(lambda _: consumer._net.call_soon_with_future(settle))
    return settled


def send_offsets_within(
    producer: Any, offsets: dict[Any, Any], group_metadata: Any, timeout_ms: int
) -> None:
    """`producer.send_offsets_to_transaction`, waiting at most `timeout_ms`: kafka-python's own
    call waits forever (e.g. for a coordinator that a broker restart left it unable to find)."""
    manager = producer._transaction_manager
    _wait(producer, manager.send_offsets_to_transaction(offsets, group_metadata), timeout_ms,
          "sending the offsets to the transaction")


def commit_within(producer: Any, timeout_ms: int) -> None:
    """`producer.commit_transaction`, waiting at most `timeout_ms` (kafka-python's waits
    forever)."""
    _wait(producer, producer._transaction_manager.begin_commit(), timeout_ms,
          "committing the transaction")


def _wait(producer: Any, result: Any, timeout_ms: int, what: str) -> None:
    producer._sender.wakeup()
    if not result.wait(timeout_ms=timeout_ms):
        raise KafkaTimeoutError(f"{what} took longer than {timeout_ms} ms")
