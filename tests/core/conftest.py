from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from argos_core import DEFAULT_MODEL_DIR

EMBEDDED_PACKAGE = DEFAULT_MODEL_DIR / "translate-en_es-1_0.argosmodel"


@pytest.fixture(scope="session")
def unpacked_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The embedded package, unpacked once: the top folder holding metadata.json."""
    target = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(EMBEDDED_PACKAGE) as archive:
        archive.extractall(target)
    (folder,) = [p for p in target.iterdir() if p.is_dir()]
    return folder


def relabelled_copy(unpacked: Path, destination: Path, source: str, target: str, **extra) -> Path:
    """A copy of the demo package whose metadata claims another language pair."""
    folder = destination / f"translate-{source}_{target}"
    shutil.copytree(unpacked, folder)
    metadata_path = folder / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    metadata.update(from_code=source, to_code=target, from_name=source, to_name=target, **extra)
    metadata_path.write_text(json.dumps(metadata))
    return folder
