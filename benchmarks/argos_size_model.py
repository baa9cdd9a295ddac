"""A model of real Argos size, built once and cached under bench-results/models/argos_size/.

Transformer-base dimensions (6+6 layers, d_model 512, FFN 2048, 8 heads) with a 32k shared
SentencePiece vocabulary, random weights, int8, in a standard .argosmodel: the same code the
embedded demo model is built with (`argos_demo.model`, `.export`, `.argos_package`), without
training. Random weights never emit `</s>`, so every output runs to the decoding-length cap
the servers and the engine are given (`--max_decoding_length`).

The vocabulary is a 32k-piece unigram SentencePiece model trained on English text harvested
from the docstrings of the installed Python packages (the only large English text available
offline), so the embedding and softmax have the real size.

    python -m benchmarks.argos_size_model [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sysconfig
import tempfile
import time
from pathlib import Path

from benchmarks.settings import DEFAULT_OUT_DIR

log = logging.getLogger("benchmarks.argos_size_model")

BUILD_VERSION = 1
VOCAB_SIZE = 32_000
HARVEST_LINES = 400_000
SEED = 1234
ARCHITECTURE = {
    "d_model": 512,
    "num_heads": 8,
    "ffn_dim": 2048,
    "encoder_layers": 6,
    "decoder_layers": 6,
}
PACKAGE_FILE = "translate-en_es-argos_size.argosmodel"
_DOCSTRING = re.compile(r'"""(.*?)"""', re.S)


def model_dir(out_dir: Path = DEFAULT_OUT_DIR) -> Path:
    """The folder to serve (`--model_dir`): it holds only the one package."""
    return out_dir / "models" / "argos_size"


def build_record() -> dict:
    return {
        "build_version": BUILD_VERSION,
        "vocab_size": VOCAB_SIZE,
        "architecture": ARCHITECTURE,
        "seed": SEED,
        "quantization": "int8",
    }


def is_built(out_dir: Path = DEFAULT_OUT_DIR) -> bool:
    folder = model_dir(out_dir)
    record = folder / "build.json"
    return (folder / PACKAGE_FILE).is_file() and record.is_file() and json.loads(
        record.read_text()
    ) == build_record()


def ensure_model(out_dir: Path = DEFAULT_OUT_DIR) -> Path:
    """Build the package unless an identical build is cached; returns its model directory."""
    folder = model_dir(out_dir)
    if is_built(out_dir):
        return folder
    started = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        _build(Path(scratch), folder / PACKAGE_FILE)
    (folder / "build.json").write_text(json.dumps(build_record(), indent=2) + "\n")
    seconds = time.monotonic() - started
    log.info("event=argos_size_model_built seconds=%.1f path=%s", seconds, folder)
    return folder


def harvest_text(limit: int = HARVEST_LINES) -> list[str]:
    """English-looking docstring lines from the installed packages, in a fixed order."""
    site = Path(sysconfig.get_paths()["purelib"])
    lines: list[str] = []
    for path in sorted(site.rglob("*.py")):
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for match in _DOCSTRING.finditer(source):
            for line in match.group(1).splitlines():
                line = line.strip()
                if len(line) > 20 and line[0].isalpha():
                    lines.append(line)
        if len(lines) >= limit:
            break
    return lines[:limit]


def train_vocabulary(lines: list[str], output: Path) -> int:
    from argos_demo.vocabulary import train_sentencepiece

    train_sentencepiece(
        lines, output, VOCAB_SIZE, character_coverage=0.9995, num_threads=2
    )
    try:
        _check_size(output.read_bytes())
    except RuntimeError:
        output.unlink()  # never leave a wrong-sized vocabulary where a later run would reuse it
        raise
    return VOCAB_SIZE


def _check_size(serialized: bytes) -> bytes:
    import sentencepiece as spm

    pieces = spm.SentencePieceProcessor(model_proto=serialized).get_piece_size()
    if pieces != VOCAB_SIZE:
        raise RuntimeError(
            f"the harvested text gave {pieces} SentencePiece pieces, not {VOCAB_SIZE}: "
            "raise HARVEST_LINES"
        )
    return serialized


def _build(scratch: Path, package: Path) -> None:
    import torch

    from argos_demo.argos_package import write_argos_package
    from argos_demo.export import export_ctranslate2
    from argos_demo.model import ModelConfig, Seq2SeqTransformer
    from argos_demo.vocabulary import load_processor, vocabulary_tokens

    lines = harvest_text()
    log.info("event=text_harvested lines=%d", len(lines))
    sp_path = scratch / "sentencepiece.model"
    train_vocabulary(lines, sp_path)
    vocabulary = vocabulary_tokens(load_processor(sp_path))
    torch.manual_seed(SEED)
    config = ModelConfig(vocab_size=len(vocabulary), dropout=0.0, **ARCHITECTURE)
    model = Seq2SeqTransformer(config).eval()
    ct2_dir = export_ctranslate2(model, vocabulary, scratch / "ct2", quantization="int8")
    record = {
        "purpose": "benchmark only: random weights, real Argos (transformer-base) dimensions",
        "model": config.to_dict(),
        "export": {"format": "ctranslate2", "quantization": "int8"},
        "build": build_record(),
    }
    write_argos_package(package, ct2_dir, sp_path, record)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.argos_size_model")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if is_built(args.out):
        (model_dir(args.out) / "build.json").touch()  # up to date for make
        print(f"argos-size model cached: {model_dir(args.out)}")
        return
    print("building the argos-size model (6+6 layers, d_model 512, 32k vocabulary; ~2-4 min)")
    print(f"argos-size model ready: {ensure_model(args.out)}")


if __name__ == "__main__":
    main()
