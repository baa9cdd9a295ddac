"""The committed .argosmodel: standard layout, installable with argostranslate, small, stable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from argos_demo import PACKAGE_NAME
from argos_demo.argos_package import read_training_record, write_argos_package

MAX_BYTES = 5 * 1024 * 1024

INSTALL_AND_LIST = """
import json, sys
from pathlib import Path
from argostranslate import package
package.install_from_path(Path(sys.argv[1]))
print(json.dumps([
    {"from": p.from_code, "to": p.to_code, "version": p.package_version, "type": p.type,
     "path": str(p.package_path), "readme": bool(p.get_readme())}
    for p in package.get_installed_packages()
]))
"""


def test_artifact_is_small(artifact: Path) -> None:
    assert artifact.stat().st_size < MAX_BYTES


def test_artifact_layout(artifact: Path) -> None:
    with zipfile.ZipFile(artifact) as archive:
        names = set(archive.namelist())
        assert {name.split("/", 1)[0] for name in names} == {PACKAGE_NAME}
        for required in (
            "metadata.json", "README.md", "sentencepiece.model",
            "model/model.bin", "model/config.json", "model/shared_vocabulary.json",
        ):
            assert f"{PACKAGE_NAME}/{required}" in names, required
        metadata = json.loads(archive.read(f"{PACKAGE_NAME}/metadata.json"))
        config = json.loads(archive.read(f"{PACKAGE_NAME}/model/config.json"))
    assert metadata | {
        "package_version": "1.0", "argos_version": "1.0", "from_code": "en",
        "from_name": "English", "to_code": "es", "to_name": "Spanish", "type": "translate",
    } == metadata
    assert config["decoder_start_token"] == "<s>"


def test_artifact_installs_with_argostranslate(artifact: Path, tmp_path: Path) -> None:
    # argostranslate fixes its directories at import time: install in a fresh interpreter.
    env = {
        **os.environ,
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "ARGOS_PACKAGES_DIR": str(tmp_path / "packages"),
    }
    completed = subprocess.run(
        [sys.executable, "-c", INSTALL_AND_LIST, str(artifact)],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    installed = json.loads(completed.stdout.strip().splitlines()[-1])
    assert installed == [
        {
            "from": "en", "to": "es", "version": "1.0", "type": "translate",
            "path": str(tmp_path / "packages" / PACKAGE_NAME), "readme": True,
        }
    ]
    assert (tmp_path / "packages" / PACKAGE_NAME / "model" / "model.bin").is_file()


def test_artifact_is_written_deterministically(artifact: Path, tmp_path: Path) -> None:
    """Re-packaging the artifact's own contents with the packager gives the same bytes."""
    with zipfile.ZipFile(artifact) as archive:
        archive.extractall(tmp_path / "unpacked")
    folder = tmp_path / "unpacked" / PACKAGE_NAME
    rebuilt = write_argos_package(
        tmp_path / "rebuilt.argosmodel",
        folder / "model",
        folder / "sentencepiece.model",
        read_training_record(artifact),
    )
    assert rebuilt.read_bytes() == artifact.read_bytes()
