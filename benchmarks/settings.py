"""What one benchmark run measures, per mode: request counts, concurrency levels, time caps."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT_DIR = REPO_ROOT / "bench-results"
CONCURRENCY = (1, 8, 32)

# Every component a run can measure; `--only` picks a subset (the smoke test uses a few).
COMPONENTS = (
    "engine",
    "kserve",
    "mlserver",
    "per_request",
    "libretranslate",
    "transformer",
    "kafka",
    "mlserver_kafka",
)


@dataclass(frozen=True)
class ModelLoad:
    """How many requests (one single-sentence text each) to send per concurrency level."""

    requests: dict[int, int]
    warmup: int
    # Served paths measured ("kserve-v1-rest", ..., "mlserver-v2-grpc"), in this order;
    # those in `full_levels` at every concurrency level, the others only at the top level.
    protocols: tuple[str, ...]
    full_levels: tuple[str, ...]
    engine_batch_sizes: tuple[int, ...]
    engine_sentences: int
    per_request_requests: dict[int, int]
    # Each engine-limit combination (thread layout x batch size) runs at least this long.
    engine_min_seconds: float = 1.0


@dataclass(frozen=True)
class BenchSettings:
    mode: str
    out_dir: Path
    models: tuple[str, ...]
    load: dict[str, ModelLoad]
    components: tuple[str, ...] = COMPONENTS
    level_time_cap_s: float = 30.0
    # A burst lasting seconds, not a fraction of one: the first and last polls weigh little
    # (with 2,000, about 1.3 s, kafka_eos_ratio moved between 0.59 and 0.89 from run to run).
    kafka_messages: int = 4000
    kafka_time_cap_s: float = 60.0
    beam_size: int = 2
    argos_size_max_decoding_length: int = 32
    # Predictor protocols the transformer is measured with; the first is what
    # manifests/base deploys and what the Kafka path uses.
    transformer_upstreams: tuple[str, ...] = ("v2",)
    # Consumer counts of the Kafka scaling run beyond one (quick mode: none, to stay short).
    kafka_extra_consumers: tuple[int, ...] = ()
    # Extra engine flags for the predictors and the engine limit (`--engine k=v,...`).
    engine_overrides: dict[str, str] = field(default_factory=dict)

    @property
    def work_dir(self) -> Path:
        return self.out_dir / "work"

    @property
    def log_dir(self) -> Path:
        return self.out_dir / "logs"

    def wants(self, component: str) -> bool:
        return component in self.components


EVERY_PATH = (
    "kserve-v1-rest", "kserve-v2-rest", "kserve-v2-grpc", "mlserver-v2-rest", "mlserver-v2-grpc",
)
# c=32 runs about a second (the throughput window, loadgen's, excludes the first and last
# rounds): with a third of a second, one scheduler hiccup moved a ratio by 0.3.
_DEMO_QUICK = ModelLoad(
    requests={1: 40, 8: 240, 32: 1600},
    warmup=32,
    protocols=EVERY_PATH,
    full_levels=("kserve-v1-rest", "kserve-v2-rest", "kserve-v2-grpc", "mlserver-v2-rest"),
    engine_batch_sizes=(8, 16, 32, 64, 128),
    engine_sentences=512,
    per_request_requests={1: 40, 8: 120, 32: 240},
)
# 30-80 sentences/s on 2 cores: the quick run measures the engine-limit paths (KServe V2 REST
# and gRPC, MLServer V2 REST) and the served per-request baseline; c=1 sends 20 requests (the
# p50 of `latency_ratio_c1`, paired with as many engine calls; with 12, the ratio moved between
# 0.90 and 1.12 from run to run). At c=32 ten rounds of 32 after
# a warm-up round, eight of them in the throughput window (about 3.5 s); the engine's
# combinations run 2 s each. With five rounds and 1 s, the served/engine ratio of one path
# moved between 0.9 and 1.16 from run to run.
_ARGOS_SIZE_QUICK = ModelLoad(
    requests={1: 20, 8: 16, 32: 320},
    warmup=32,
    protocols=("kserve-v2-rest", "kserve-v2-grpc", "mlserver-v2-rest"),
    full_levels=("kserve-v2-rest",),
    engine_batch_sizes=(16, 32),
    engine_sentences=64,
    per_request_requests={1: 4, 8: 16, 32: 64},
    engine_min_seconds=2.0,
)


def _scaled(load: ModelLoad, factor: int) -> ModelLoad:
    return replace(
        load,
        requests={c: n * factor for c, n in load.requests.items()},
        per_request_requests={c: n * factor for c, n in load.per_request_requests.items()},
        engine_sentences=load.engine_sentences * factor,
        engine_min_seconds=4.0,
        protocols=EVERY_PATH,
        full_levels=EVERY_PATH,
    )


def build_settings(
    mode: str, out_dir: Path | None = None, only: tuple[str, ...] | None = None
) -> BenchSettings:
    out = Path(out_dir or os.environ.get("BENCH_OUT_DIR") or DEFAULT_OUT_DIR).resolve()
    components = tuple(only) if only else COMPONENTS
    unknown = sorted(set(components) - set(COMPONENTS))
    if unknown:
        raise ValueError(f"unknown components {unknown}; known: {', '.join(COMPONENTS)}")
    if mode == "quick":
        return BenchSettings(
            mode, out, ("demo", "argos_size"),
            {"demo": _DEMO_QUICK, "argos_size": _ARGOS_SIZE_QUICK}, components,
        )
    if mode == "full":
        return BenchSettings(
            mode,
            out,
            ("demo", "argos_size"),
            {"demo": _scaled(_DEMO_QUICK, 3), "argos_size": _scaled(_ARGOS_SIZE_QUICK, 3)},
            components,
            level_time_cap_s=120.0,
            kafka_messages=6000,
            kafka_time_cap_s=180.0,
            transformer_upstreams=("v2", "grpc-v2", "v1"),
            kafka_extra_consumers=(2, 3),
        )
    if mode == "smoke":
        tiny = ModelLoad(
            requests={1: 3, 8: 8, 32: 32},
            warmup=2,
            protocols=EVERY_PATH,
            full_levels=("kserve-v1-rest",),
            engine_batch_sizes=(8, 32),
            engine_sentences=32,
            per_request_requests={1: 2, 8: 8, 32: 32},
        )
        return BenchSettings(
            mode, out, ("demo",), {"demo": tiny}, components,
            level_time_cap_s=30.0, kafka_messages=40, kafka_time_cap_s=60.0,
        )
    raise ValueError(f"unknown mode {mode!r}: quick, full or smoke")
