"""Model directories for the tests, built from the embedded demo package."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

from tests.support.processes import REPO_ROOT

EMBEDDED_DIR = REPO_ROOT / "predictors" / "argos_core" / "embedded"


def embedded_package() -> Path:
    packages = sorted(EMBEDDED_DIR.glob("*.argosmodel"))
    if not packages:
        raise RuntimeError(f"no embedded .argosmodel in {EMBEDDED_DIR}: build the demo model first")
    return packages[-1]


def relabelled_copy(package: Path, destination: Path, source: str, target: str) -> Path:
    """Unpack `package` into `destination` with metadata.json saying `source`->`target`.

    The weights stay the embedded en->es ones, so the new pair translates exactly like en->es:
    outputs of routes through it are predictable from en->es alone.
    """
    with zipfile.ZipFile(package) as archive:
        top = archive.namelist()[0].split("/", 1)[0]
        archive.extractall(destination / "unpacked")
    folder = destination / f"translate-{source}_{target}"
    shutil.move(destination / "unpacked" / top, folder)
    shutil.rmtree(destination / "unpacked")
    metadata_path = folder / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    metadata.update(
        from_code=source, from_name=f"Test {source}", to_code=target, to_name=f"Test {target}"
    )
    metadata_path.write_text(json.dumps(metadata))
    return folder


def two_pair_model_dir(root: Path) -> Path:
    """The embedded en->es package plus the same weights relabelled xx->en.

    Installed: en->es, xx->en; reachable: also xx->es (pivot xx->en->es).
    """
    model_dir = root / "two-pairs"
    model_dir.mkdir(parents=True)
    package = embedded_package()
    shutil.copy2(package, model_dir / package.name)
    relabelled_copy(package, model_dir, "xx", "en")
    return model_dir


def not_a_zip_model_dir(root: Path) -> tuple[Path, Path]:
    model_dir = root / "not-a-zip"
    model_dir.mkdir(parents=True)
    broken = model_dir / "translate-en_de-1_0.argosmodel"
    broken.write_bytes(b"this is not a zip archive\n")
    return model_dir, broken


def folder_without_model_dir(root: Path) -> tuple[Path, Path]:
    """A package folder whose metadata.json is fine but whose CTranslate2 model is missing."""
    model_dir = root / "no-model"
    model_dir.mkdir(parents=True)
    folder = relabelled_copy(embedded_package(), model_dir, "en", "de")
    shutil.rmtree(folder / "model")
    return model_dir, folder
