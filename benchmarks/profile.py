"""Where the time goes when a goal is missed: py-spy profiles of the servers under load, and
import-time profiles of each image's entrypoint (cold start).

    python -m benchmarks.profile --py-spy PATH [--out DIR] [--targets a,b] [--seconds N]

Targets: kserve (V1 at c=32), mlserver (V2 REST at c=32), transformer (V1 at c=32, v2
upstream; the transformer process is profiled), kafka (the transformer's Kafka ingestion
during a burst), imports (`python -X importtime` of each entrypoint). For each, the raw
py-spy samples (collapsed stacks) and a summary of the hottest functions (self and inclusive)
are written to OUT/profiles/; the summaries are printed.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import logging
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import kafka_path, servers, targets
from benchmarks.loadgen import run_load
from benchmarks.settings import DEFAULT_OUT_DIR, REPO_ROOT
from benchmarks.workload import demo_workload
from harness.processes import venv_python

log = logging.getLogger("benchmarks.profile")
TARGETS = ("kserve", "mlserver", "transformer", "kafka", "imports")
ENTRYPOINTS = {
    "kserve-predictor": ("kserve", "import argos_kserve.__main__, argos_kserve.model"),
    "mlserver": ("mlserver", "import mlserver.cli.main, argos_mlserver.runtime"),
    "transformer": ("transformer", "import argos_transformer.__main__"),
}


def summarize_collapsed(raw: Path, top: int = 25) -> str:
    """Hottest functions of py-spy's raw output (`frame;frame;... count` per line)."""
    self_counts: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        self_counts[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    if not total:
        return f"{raw.name}: no samples"
    lines = [f"{raw.name}: {total} samples (active threads only)", "  self %  function"]
    lines += [f"  {100 * n / total:6.1f}  {f}" for f, n in self_counts.most_common(top)]
    lines += ["  incl %  function"]
    lines += [f"  {100 * n / total:6.1f}  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines)


def record(py_spy: Path, pid: int, seconds: float, output: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(py_spy), "record", "--pid", str(pid), "--duration", str(int(seconds)),
         "--rate", "200", "--format", "raw", "--nolineno", "--nonblocking", "--gil",
         "--output", str(output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )


def load_for(endpoint: targets.Endpoint, protocol: str, seconds: float) -> dict:
    workload = demo_workload(4000)

    async def go() -> dict:
        async with targets.http_client(32) as client:
            factory = targets.v1_rest if protocol == "v1-rest" else targets.v2_rest
            result = await run_load(
                protocol, factory(client, endpoint, workload), requests=100_000,
                concurrency=32, time_cap_s=seconds,
            )
            return result.summary()

    return asyncio.run(go())


def profile_under_load(
    name: str, launched: servers.Launched, endpoint: targets.Endpoint, protocol: str,
    py_spy: Path, out: Path, seconds: float,
) -> str:
    raw = out / f"{name}.raw.txt"
    recorder = record(py_spy, launched.server.process.pid, seconds, raw)
    summary = load_for(endpoint, protocol, seconds + 1)
    _, errors = recorder.communicate(timeout=seconds + 60)
    if recorder.returncode != 0:
        raise RuntimeError(f"py-spy failed: {errors[-800:]}")
    text = f"{name}: load {summary}\n" + summarize_collapsed(raw)
    (out / f"{name}.summary.txt").write_text(text + "\n")
    return text


def profile_kafka(py_spy: Path, out: Path, work: Path, predictor: servers.Launched,
                  seconds: float) -> str:
    broker = kafka_path.start_broker(work)
    try:
        topics = kafka_path.Topics.fresh("profile")
        broker.create_topics(topics.input, topics.output, topics.dlq)
        flags = kafka_path.transformer_flags(broker, topics, max_in_flight=32)
        transformer = servers.start_transformer(out, predictor.endpoint, "v2", flags)
        try:
            raw = out / "transformer-kafka.raw.txt"
            recorder = record(py_spy, transformer.server.process.pid, seconds, raw)
            run = kafka_path.measure(
                broker, topics, demo_workload(4000), 1500, seconds,
                kafka_path.encode_transformer, kafka_path.decode_transformer,
            )
            _, errors = recorder.communicate(timeout=seconds + 60)
            if recorder.returncode != 0:
                raise RuntimeError(f"py-spy failed: {errors[-800:]}")
            text = f"transformer-kafka: {run.summary()}\n" + summarize_collapsed(raw)
            (out / "transformer-kafka.summary.txt").write_text(text + "\n")
            return text
        finally:
            transformer.stop()
    finally:
        broker.stop()


def import_times(out: Path) -> str:
    """Cumulative import time of each entrypoint's modules (`python -X importtime`)."""
    lines = []
    for name, (venv, statement) in ENTRYPOINTS.items():
        started = time.perf_counter()
        completed = subprocess.run(
            [str(venv_python(venv)), "-X", "importtime", "-c", statement],
            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300,
        )
        wall = time.perf_counter() - started
        (out / f"imports-{name}.txt").write_text(completed.stderr)
        rows = []
        for line in completed.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[1].strip().isdigit():
                rows.append((int(parts[1]), parts[2].rstrip()))
        top_level = sorted((r for r in rows if not r[1].startswith("  ")), reverse=True)[:12]
        lines.append(f"{name}: interpreter + imports {wall:.2f} s wall; largest top-level imports:")
        lines += [f"  {us / 1e6:6.2f} s  {module.strip()}" for us, module in top_level]
    text = "\n".join(lines)
    (out / "imports.summary.txt").write_text(text + "\n")
    return text


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR)
    parser.add_argument("--py-spy", type=Path, required=True)
    parser.add_argument("--targets", default=",".join(TARGETS))
    parser.add_argument("--seconds", type=float, default=8.0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("httpx", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    chosen = [t for t in args.targets.split(",") if t]
    unknown = sorted(set(chosen) - set(TARGETS))
    if unknown:
        parser.error(f"unknown targets {unknown}; known: {', '.join(TARGETS)}")
    out = args.out / "profiles"
    out.mkdir(parents=True, exist_ok=True)
    work = args.out / "work"
    reports = []
    if "imports" in chosen:
        reports.append(import_times(out))
    if {"kserve", "transformer", "kafka"} & set(chosen):
        predictor = servers.start_kserve(work, out, None, {})
        try:
            if "kserve" in chosen:
                reports.append(profile_under_load(
                    "kserve-predictor", predictor, predictor.endpoint, "v1-rest", args.py_spy,
                    out, args.seconds))
            if "transformer" in chosen:
                transformer = servers.start_transformer(out, predictor.endpoint, "v2")
                try:
                    reports.append(profile_under_load(
                        "transformer", transformer, transformer.endpoint, "v1-rest",
                        args.py_spy, out, args.seconds))
                finally:
                    transformer.stop()
            if "kafka" in chosen:
                reports.append(profile_kafka(args.py_spy, out, work, predictor, args.seconds))
        finally:
            predictor.stop()
    if "mlserver" in chosen:
        mlserver = servers.start_mlserver(work, out, None, {})
        try:
            reports.append(profile_under_load(
                "mlserver", mlserver, mlserver.endpoint, "v2-rest", args.py_spy, out,
                args.seconds))
        finally:
            mlserver.stop()
    print("\n\n".join(reports))


if __name__ == "__main__":
    main()
