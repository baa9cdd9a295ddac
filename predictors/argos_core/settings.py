"""Engine and limit settings, shared by the front ends (CLI flags or model-settings parameters)."""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from argos_core.cpus import available_cpus

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "embedded"


def setting(default: Any, help: str) -> Any:
    """A settings field with its meaning: the one source of `--help`, MLServer's
    `parameters.extra` keys and the README's settings table."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class EngineSettings:
    """How packages are loaded, translated, batched and bounded.

    Defaults suit a CPU pod: beam 2, one batch in flight per CPU the container may use (its
    CPU limit, `inter_threads` 0) with one thread each, a few milliseconds of batching delay,
    and bounded requests and queue.
    """

    device: str = setting("cpu", "`cpu`, `cuda` or `auto`")
    compute_type: str = setting(
        "default", "CTranslate2 compute type (`int8`, `int8_float16`, `float16`, ...)"
    )
    beam_size: int = setting(2, "beam search width (1 = greedy)")
    inter_threads: int = setting(
        0,
        "batches translated in parallel; 0 = one per CPU the container may use (its "
        "`limits.cpu`, read from the cgroup; 1 on a GPU); the weights are shared",
    )
    intra_threads: int = setting(
        1,
        "threads per batch; one avoids OpenMP barrier stalls when the HTTP side needs a core "
        "(`docs/benchmarks.md`)",
    )
    wide_threads: int = setting(
        0,
        "threads for a batch translated alone (nothing else queued or in flight), on a second "
        "replica of the model; 0 = auto: every CPU the container may use, kept only when a "
        "lone sentence is at least 10% faster that way at load; N = always N; at most "
        "`intra_threads` = off. The replica costs one more copy of the weights per pair "
        "(`docs/predictor.md`)",
    )
    max_decoding_length: int = setting(
        256, "longest translation in tokens (also at most twice the source length plus 10)"
    )
    max_batch_sentences: int = setting(64, "sentences per `translate_batch` call")
    max_batch_tokens: int = setting(4096, "CTranslate2 sub-batches by tokens inside a call")
    max_wait_ms: float = setting(
        2.0,
        "a batch with its share of the queued work leaves once no sentence has arrived for "
        "this long",
    )
    max_wait_fraction: float = setting(
        0.1,
        "a free batch worker waits for its share (queued + translating, divided by the "
        "workers) at most this fraction of a recent batch's duration (at least `max_wait_ms`), "
        "so batches stay equal and full (`predictors/argos_core/batcher.py`)",
    )
    max_queue_sentences: int = setting(4096, "queued sentences before answering 503")
    max_text_chars: int = setting(10_000, "characters per text (400 past it)")
    max_texts: int = setting(256, "texts per request (400 past it)")
    cache_size: int = setting(
        0, "LRU cache of sentence translations per pair (0 = off); hit/miss metrics"
    )
    default_source: str | None = setting(
        None, "source language when a request names none and several packages are loaded"
    )
    default_target: str | None = setting(
        None, "target language when a request names none and several packages are loaded"
    )
    extract_dir: str | None = setting(
        None, "where zipped packages are unpacked (default `$ARGOS_EXTRACT_DIR` or `$TMPDIR`)"
    )

    def __post_init__(self) -> None:
        positive = (
            "beam_size",
            "max_decoding_length",
            "max_batch_sentences",
            "max_batch_tokens",
            "max_queue_sentences",
            "max_text_chars",
            "max_texts",
        )
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        for name in (
            "inter_threads",
            "intra_threads",
            "wide_threads",
            "cache_size",
            "max_wait_ms",
            "max_wait_fraction",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"device must be cpu, cuda or auto, got {self.device!r}")

    @property
    def max_wait_s(self) -> float:
        return self.max_wait_ms / 1000.0

    @property
    def wide_thread_count(self) -> int:
        """Threads of the replica for a batch alone, 0 for none (resolved settings only)."""
        if self.device != "cpu" or self.intra_threads == 0:
            return 0
        threads = self.wide_threads or available_cpus()
        return threads if threads > self.intra_threads else 0

    def resolved(self, cuda_devices: int) -> EngineSettings:
        """These settings with `device` "auto" and `inter_threads` 0 made concrete: on CPU, one
        batch in flight per CPU of the container's limit (CTranslate2 shares the weights
        between them); on a GPU, one."""
        device = self.device
        if device == "auto":
            device = "cuda" if cuda_devices > 0 else "cpu"
        inter_threads = self.inter_threads or (available_cpus() if device == "cpu" else 1)
        return dataclasses.replace(self, device=device, inter_threads=inter_threads)

    def resolved_extract_dir(self) -> Path:
        base = self.extract_dir or os.environ.get("ARGOS_EXTRACT_DIR")
        if base:
            return Path(base)
        return Path(os.environ.get("TMPDIR", "/tmp")) / "argos-packages"

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser) -> None:
        """Add one `--flag` per setting, with its meaning and default."""
        group = parser.add_argument_group("translation engine")
        for field in fields(cls):
            group.add_argument(
                f"--{field.name}",
                type=_field_type(field),
                default=field.default,
                dest=f"engine_{field.name}",
                metavar=_field_type(field).__name__.upper(),
                help=f"{_plain(field.metadata['help'])} (default: {_shown(field.default)})",
            )

    @classmethod
    def markdown_table(cls) -> str:
        """The README's settings table."""
        rows = ["| setting | default | meaning |", "|---|---|---|"]
        rows += [
            f"| `{field.name}` | {_shown(field.default, '`')} | {field.metadata['help']} |"
            for field in fields(cls)
        ]
        return "\n".join(rows)

    @classmethod
    def from_namespace(cls, args: argparse.Namespace) -> EngineSettings:
        return cls(**{f.name: getattr(args, f"engine_{f.name}") for f in fields(cls)})

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> EngineSettings:
        """Build from a loose mapping (e.g. MLServer `parameters.extra`), converting strings."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown engine settings: {', '.join(unknown)}")
        converted = {
            name: None if value is None else _field_type(known[name])(value)
            for name, value in values.items()
        }
        return dataclasses.replace(cls(), **converted)


def _shown(default: Any, quote: str = "") -> str:
    if default is None:
        return "-"
    value = f"{default:g}" if isinstance(default, float) else str(default)
    return f"{quote}{value}{quote}"


def _plain(help_text: str) -> str:
    """Help text for a terminal: no Markdown backticks, and argparse's % escaped."""
    return help_text.replace("`", "").replace("%", "%%")


def _field_type(field: dataclasses.Field) -> type:
    annotation = str(field.type)
    if annotation.startswith("int"):
        return int
    if annotation.startswith("float"):
        return float
    return str
