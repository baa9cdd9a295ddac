"""Send texts to the input topic and print the translations as they arrive (demos, smoke tests).

    python -m argos_transformer.kafka.cli send --bootstrap 127.0.0.1:9092 --topic argos-in \\
        --wait-output argos-out "The cat sleeps." "My city is big."
    python -m argos_transformer.kafka.cli send ... --file lines.txt --source en --target es

Each text is sent as `{"text", "id", "source"?, "target"?}` with a fresh id; the output topic
(and its dead-letter topic) are read from their current end, and each result for one of those
ids is printed as a JSON line. Exits 0 once every text has an answer, 1 on timeout.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from argos_transformer.kafka.outbound import (
    HEADER_ERROR_CLASS,
    HEADER_ERROR_MESSAGE,
    HEADER_ERROR_STATUS,
    HEADER_ID,
    header,
)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="argos-kafka-cli", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("send", help="send texts and print the translations")
    send.add_argument("--bootstrap", default="127.0.0.1:9092", help="host:port[,host:port]")
    send.add_argument("--topic", required=True, help="the transformer's input topic")
    send.add_argument("texts", nargs="*", help="texts to translate (or use --file)")
    send.add_argument("--file", type=Path, help="a file of texts, one per line ('-' for stdin)")
    send.add_argument("--source", help="source language (default: the service's)")
    send.add_argument("--target", help="target language (default: the service's)")
    send.add_argument("--key", help="record key for every text (default: none)")
    send.add_argument("--wait-output", metavar="TOPIC", help="print results from this topic")
    send.add_argument("--dlq-topic", help="dead-letter topic to watch (default <output>.dlq)")
    send.add_argument("--timeout", type=float, default=60.0, help="seconds to wait (default 60)")
    args = parser.parse_args(argv)
    texts = list(_texts(args.texts, args.file))
    if not texts:
        parser.error("nothing to send: give texts or --file")
    return send_and_wait(args, texts, sys.stdout)


def _texts(texts: Sequence[str], path: Path | None) -> Iterator[str]:
    yield from texts
    if path is not None:
        stream: TextIO = sys.stdin if str(path) == "-" else path.open(encoding="utf-8")
        with stream:
            for line in stream:
                if line.strip():
                    yield line.rstrip("\n")


def send_and_wait(args: argparse.Namespace, texts: list[str], out: TextIO) -> int:
    servers = args.bootstrap.split(",")
    run = uuid.uuid4().hex[:8]
    ids = [f"cli-{run}-{index}" for index in range(len(texts))]
    watched = [t for t in (args.wait_output, args.dlq_topic or _dlq(args.wait_output)) if t]
    consumer = _Tail(servers, watched) if watched else None
    try:
        producer = KafkaProducer(bootstrap_servers=servers, linger_ms=5)
        try:
            futures = [
                producer.send(
                    args.topic,
                    key=args.key.encode() if args.key else None,
                    value=json.dumps(_record(text, record_id, args)).encode(),
                )
                for text, record_id in zip(texts, ids, strict=True)
            ]
            producer.flush(args.timeout)
            for future in futures:
                future.get(timeout=args.timeout)
        finally:
            producer.close(5)
        print(f"sent {len(texts)} records to {args.topic}", file=sys.stderr)
        if consumer is None:
            return 0
        return _print_results(consumer, args.wait_output, set(ids), args.timeout, out)
    finally:
        if consumer is not None:
            consumer.close()


def _dlq(output: str | None) -> str | None:
    return f"{output}.dlq" if output else None


def _record(text: str, record_id: str, args: argparse.Namespace) -> dict[str, Any]:
    record: dict[str, Any] = {"text": text, "id": record_id}
    if args.source:
        record["source"] = args.source
    if args.target:
        record["target"] = args.target
    return record


class _Tail:
    """A group-less consumer of `topics` from their current end (taken before we send).

    A topic that does not exist yet (the transformer creates it on first write) is picked up
    from its beginning as soon as it appears.
    """

    def __init__(self, servers: list[str], topics: list[str]) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
        self.missing = list(topics)
        self._assign(at_end=True)

    def _assign(self, at_end: bool) -> None:
        found = [
            TopicPartition(topic, partition)
            for topic in self.missing
            for partition in sorted(self.consumer.partitions_for_topic(topic) or ())
        ]
        if not found:
            return
        self.missing = [t for t in self.missing if t not in {tp.topic for tp in found}]
        self.consumer.assign([*self.consumer.assignment(), *found])
        if at_end:
            self.consumer.seek_to_end(*found)
            for tp in found:
                self.consumer.position(tp)  # resolve the end now, before our records land
        else:
            self.consumer.seek_to_beginning(*found)

    def poll(self) -> list[Any]:
        if self.missing:
            self._assign(at_end=False)
        batches = self.consumer.poll(timeout_ms=200) if self.consumer.assignment() else {}
        if not batches:
            time.sleep(0.05 if self.consumer.assignment() else 0.5)
        return [record for records in batches.values() for record in records]

    def close(self) -> None:
        self.consumer.close(autocommit=False)


def _print_results(
    tail: _Tail, output: str, waiting: set[str], timeout: float, out: TextIO
) -> int:
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        for records in (tail.poll(),):
            for record in records:
                record_id = header(record.headers, HEADER_ID)
                if record_id not in waiting:
                    continue
                waiting.discard(record_id)
                out.write(json.dumps(_result(record, output), ensure_ascii=False) + "\n")
                out.flush()
    if waiting:
        print(f"timed out after {timeout:g}s; {len(waiting)} without an answer", file=sys.stderr)
        return 1
    return 0


def _result(record: Any, output: str) -> dict[str, Any]:
    if record.topic == output:
        return json.loads(record.value)
    return {
        "id": header(record.headers, HEADER_ID),
        "error": header(record.headers, HEADER_ERROR_CLASS),
        "status": header(record.headers, HEADER_ERROR_STATUS),
        "message": header(record.headers, HEADER_ERROR_MESSAGE),
    }


if __name__ == "__main__":
    sys.exit(main())
