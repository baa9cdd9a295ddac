"""Write a standard `.argosmodel`: a zip with one top folder holding metadata.json, model/,
sentencepiece.model and README.md (plus training.json, our provenance record).

The zip is written deterministically (sorted entries, fixed timestamps and permissions) so the
same inputs always give the same bytes.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

from argos_demo import PACKAGE_NAME

FIXED_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
TRAINING_RECORD = "training.json"

METADATA = {
    "package_version": "1.0",
    "argos_version": "1.0",
    "from_code": "en",
    "from_name": "English",
    "to_code": "es",
    "to_name": "Spanish",
    "type": "translate",
    "links": [],
}

README = """\
# English → Spanish demo model (translate-en_es-1_0)

A small real Argos Translate package, trained by kserve-argos (`make demo-model`) because no
pretrained model can be downloaded in its build environment. It translates a closed demo domain
only: sentences `DET [ADJ] NOUN VERB [DET [ADJ] NOUN].` or `DET [ADJ] NOUN is/are ADJ.` built from
24 nouns, 12 adjectives, 12 verbs and 4 determiners, e.g.

    The small dog sleeps.              -> El perro pequeño duerme.
    A girl reads the new book.         -> Una niña lee el libro nuevo.
    This old man has a blue car.       -> Este hombre viejo tiene un coche azul.

Anything outside that domain gets a meaningless translation.

Contents:

- `model/`: a CTranslate2 Transformer exported from torch: pre-norm, {encoder_layers} encoder and
  {decoder_layers} decoder layers, d_model {d_model}, {num_heads} heads, {quantization} weights.
- `sentencepiece.model`: a shared English/Spanish unigram vocabulary of {vocab_size} pieces.
- `training.json`: the corpus seeds, model and training settings this package was built from.
"""


def package_metadata() -> dict:
    return {**METADATA, "code": PACKAGE_NAME}


def render_readme(training_record: dict) -> str:
    model = training_record["model"]
    return README.format(
        encoder_layers=model["encoder_layers"],
        decoder_layers=model["decoder_layers"],
        d_model=model["d_model"],
        num_heads=model["num_heads"],
        quantization=training_record["export"]["quantization"] or "float32",
        vocab_size=model["vocab_size"],
    )


def _json_bytes(value: dict) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _file_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIMESTAMP)
    info.external_attr = 0o100644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _dir_info(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name.rstrip("/") + "/", date_time=FIXED_TIMESTAMP)
    info.external_attr = (0o040755 << 16) | 0x10  # Unix directory + MS-DOS directory flag
    return info


def write_argos_package(
    output: Path,
    model_dir: Path,
    sentencepiece_model: Path,
    training_record: dict,
) -> Path:
    """Zip the package to `output` (written to a temporary name, then renamed)."""
    top = PACKAGE_NAME
    files: dict[str, bytes] = {
        f"{top}/metadata.json": _json_bytes(package_metadata()),
        f"{top}/README.md": render_readme(training_record).encode(),
        f"{top}/sentencepiece.model": sentencepiece_model.read_bytes(),
        f"{top}/{TRAINING_RECORD}": _json_bytes(training_record),
    }
    for path in sorted(model_dir.iterdir()):
        if not path.is_file():
            raise ValueError(f"unexpected non-file {path} in the CTranslate2 model directory")
        files[f"{top}/model/{path.name}"] = path.read_bytes()

    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    with zipfile.ZipFile(partial, "w") as archive:
        for directory in (top, f"{top}/model"):
            archive.writestr(_dir_info(directory), b"")
        for name in sorted(files):
            archive.writestr(_file_info(name), files[name], compresslevel=9)
    os.replace(partial, output)
    return output


def read_training_record(package: Path) -> dict:
    with zipfile.ZipFile(package) as archive:
        return json.loads(archive.read(f"{PACKAGE_NAME}/{TRAINING_RECORD}"))
