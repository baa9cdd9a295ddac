"""Finding packages in a model directory, and refusing the ones that cannot be served safely."""

from __future__ import annotations

import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from argos_core.errors import PackageError
from argos_core.packages import discover_packages
from tests.core.conftest import EMBEDDED_PACKAGE, relabelled_copy


def test_embedded_zip_is_found_and_read(tmp_path: Path) -> None:
    (package,) = discover_packages(EMBEDDED_PACKAGE.parent, tmp_path / "x")
    assert package.pair == ("en", "es")
    assert (package.source_name, package.target_name) == ("English", "Spanish")
    assert (package.model_dir / "model.bin").is_file()
    assert package.origin == EMBEDDED_PACKAGE
    # a second discovery reuses the extracted folder
    (again,) = discover_packages(EMBEDDED_PACKAGE.parent, tmp_path / "x")
    assert again.path == package.path


def test_unpacked_folders_zips_and_a_package_root_all_work(
    tmp_path: Path, unpacked_demo: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(EMBEDDED_PACKAGE, models)
    relabelled_copy(unpacked_demo, models, "de", "en")
    pairs = [p.pair for p in discover_packages(models, tmp_path / "x")]
    assert pairs == [("de", "en"), ("en", "es")]
    assert [p.pair for p in discover_packages(unpacked_demo, tmp_path / "x")] == [("en", "es")]


def test_newest_version_wins_for_a_duplicate_pair(tmp_path: Path, unpacked_demo: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(EMBEDDED_PACKAGE, models)
    relabelled_copy(unpacked_demo, models, "en", "es", package_version="9.1")
    (package,) = discover_packages(models, tmp_path / "x")
    assert package.version == "9.1"


def write_zip(path: Path, members: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            archive.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize(
    ("members", "symlink", "message"),
    [
        (
            {"pkg/metadata.json": b"{}", "pkg/../../evil.txt": b"x"},
            None,
            "escapes the archive folder",
        ),
        ({"pkg/metadata.json": b"{}"}, "pkg/link", "is a symlink"),
        ({"a/metadata.json": b"{}", "b/metadata.json": b"{}"}, None, "expected one top folder"),
        ({"pkg/metadata.json": b"not json"}, None, "cannot read package metadata"),
        (
            {"pkg/metadata.json": json.dumps({"from_code": "en", "to_code": "es"}).encode()},
            None,
            "missing CTranslate2 model",
        ),
    ],
)
def test_bad_archives_fail_loudly_naming_the_file(
    tmp_path: Path, members: dict, symlink: str | None, message: str
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    archive = write_zip(models / "broken.argosmodel", members, symlink)
    with pytest.raises(PackageError, match=message) as error:
        discover_packages(models, tmp_path / "x")
    assert str(archive) in str(error.value)
    assert not (tmp_path / "evil.txt").exists()


def test_not_a_zip_and_empty_directories_fail(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    with pytest.raises(PackageError, match="no Argos packages"):
        discover_packages(models, tmp_path / "x")
    (models / "junk.argosmodel").write_bytes(b"this is not a zip")
    with pytest.raises(PackageError, match=r"junk\.argosmodel: not a valid \.argosmodel"):
        discover_packages(models, tmp_path / "x")
    with pytest.raises(PackageError, match="does not exist"):
        discover_packages(tmp_path / "missing", tmp_path / "x")


def test_symlinks_out_of_the_model_directory_are_refused(
    tmp_path: Path, unpacked_demo: Path
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    os.symlink(unpacked_demo, models / "outside")
    with pytest.raises(PackageError, match="symlink points outside the model directory"):
        discover_packages(models, tmp_path / "x")
