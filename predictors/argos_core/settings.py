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


@dataclass(frozen=True)
class EngineSettings:
    """How packages are loaded, translated, batched and bounded.

    Defaults suit a CPU pod: beam 2, one batch in flight per CPU the container may use (its
    CPU limit, `inter_threads` 0) with one thread each, a few milliseconds of batching delay,
    and bounded requests and queue.
    """

    device: str = "cpu"
    compute_type: str = "default"
    beam_size: int = 2
    inter_threads: int = 0
    intra_threads: int = 1
    max_decoding_length: int = 256
    max_batch_sentences: int = 64
    max_batch_tokens: int = 4096
    max_wait_ms: float = 2.0
    max_wait_fraction: float = 0.1
    max_queue_sentences: int = 4096
    max_text_chars: int = 10_000
    max_texts: int = 256
    cache_size: int = 0
    default_source: str | None = None
    default_target: str | None = None
    extract_dir: str | None = None

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
            "inter_threads", "intra_threads", "cache_size", "max_wait_ms", "max_wait_fraction"
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ValueError(f"device must be cpu, cuda or auto, got {self.device!r}")

    @property
    def max_wait_s(self) -> float:
        return self.max_wait_ms / 1000.0

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
        """Add one `--flag` per setting (defaults from the dataclass)."""
        group = parser.add_argument_group("translation engine")
        for field in fields(cls):
            kind = _field_type(field)
            group.add_argument(
                f"--{field.name}", type=kind, default=field.default, dest=f"engine_{field.name}"
            )

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


def _field_type(field: dataclasses.Field) -> type:
    annotation = str(field.type)
    if annotation.startswith("int"):
        return int
    if annotation.startswith("float"):
        return float
    return str
