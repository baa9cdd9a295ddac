"""Find and open Argos packages (`.argosmodel` zips or unpacked folders) in a model directory.

The package format is argostranslate's: one top folder holding `metadata.json`, a CTranslate2
`model/` and a `sentencepiece.model`. Zips are extracted once into a scratch directory, refusing
members that would land outside it (zip slip) and symlinks; unpacked folders must not point
outside the model directory.
"""

from __future__ import annotations

import hashlib
import logging
import shutil
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from argos_core.errors import PackageError

logger = logging.getLogger("argos_core.packages")

PACKAGE_SUFFIX = ".argosmodel"


@dataclass(frozen=True)
class ArgosPackage:
    """One installed translation package, read through argostranslate's own `Package`."""

    source: str
    target: str
    source_name: str
    target_name: str
    version: str
    path: Path
    origin: Path
    target_prefix: str

    @property
    def model_dir(self) -> Path:
        return self.path / "model"

    @property
    def sentencepiece_model(self) -> Path:
        return self.path / "sentencepiece.model"

    @property
    def pair(self) -> tuple[str, str]:
        return (self.source, self.target)


def discover_packages(model_dir: Path, extract_dir: Path) -> list[ArgosPackage]:
    """Every translate package in `model_dir`, newest version per language pair."""
    root = Path(model_dir)
    if not root.is_dir():
        raise PackageError(f"model directory {root} does not exist or is not a directory")
    real_root = root.resolve()
    found: dict[tuple[str, str], ArgosPackage] = {}
    for candidate in _candidates(root):
        _refuse_escape(candidate, real_root)
        folder = _extract(candidate, extract_dir) if candidate.is_file() else candidate
        package = open_package(folder, origin=candidate)
        previous = found.get(package.pair)
        if previous is not None:
            keep = max(previous, package, key=_version_key)
            logger.warning(
                "duplicate pair=%s->%s kept=%s dropped=%s",
                *package.pair,
                keep.origin,
                (package if keep is previous else previous).origin,
            )
            package = keep
        found[package.pair] = package
    if not found:
        raise PackageError(
            f"no Argos packages (*{PACKAGE_SUFFIX} or folders with metadata.json) in {root}"
        )
    return sorted(found.values(), key=lambda p: p.pair)


def open_package(folder: Path, origin: Path | None = None) -> ArgosPackage:
    """Validate one unpacked package folder and read its metadata."""
    from argostranslate.package import Package

    origin = origin or folder
    try:
        package = Package(folder)
    except Exception as exc:
        raise PackageError(f"{origin}: cannot read package metadata: {exc}") from exc
    if package.type != "translate" or not package.from_code or not package.to_code:
        raise PackageError(f"{origin}: not a translate package (type={package.type!r})")
    if not (folder / "model" / "model.bin").is_file():
        raise PackageError(f"{origin}: missing CTranslate2 model (model/model.bin)")
    if not (folder / "sentencepiece.model").is_file():
        raise PackageError(
            f"{origin}: missing sentencepiece.model (BPE-tokenized packages are not supported)"
        )
    return ArgosPackage(
        source=package.from_code,
        target=package.to_code,
        source_name=package.from_name or package.from_code,
        target_name=package.to_name or package.to_code,
        version=package.package_version or "0",
        path=folder,
        origin=origin,
        target_prefix=getattr(package, "target_prefix", "") or "",
    )


def _candidates(root: Path) -> list[Path]:
    if (root / "metadata.json").is_file():
        return [root]
    candidates = []
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue  # e.g. Kubernetes' ..data links in projected volumes
        if (entry.is_file() and entry.name.endswith(PACKAGE_SUFFIX)) or (
            entry.is_dir() and (entry / "metadata.json").is_file()
        ):
            candidates.append(entry)
    return candidates


def _refuse_escape(path: Path, real_root: Path) -> None:
    resolved = path.resolve()
    if resolved != real_root and real_root not in resolved.parents:
        raise PackageError(f"{path}: symlink points outside the model directory ({resolved})")


def _extract(archive: Path, extract_dir: Path) -> Path:
    if not zipfile.is_zipfile(archive):
        raise PackageError(f"{archive}: not a valid .argosmodel (must be a zip archive)")
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    destination = extract_dir / f"{archive.stem}-{digest}"
    try:
        with zipfile.ZipFile(archive) as zf:
            top = _single_top_folder(archive, zf)
            folder = destination / top
            if (folder / "metadata.json").is_file():
                return folder
            scratch = destination.with_name(destination.name + ".partial")
            shutil.rmtree(scratch, ignore_errors=True)
            _safe_extract_all(archive, zf, scratch)
            shutil.rmtree(destination, ignore_errors=True)
            scratch.rename(destination)
            return folder
    except zipfile.BadZipFile as exc:
        raise PackageError(f"{archive}: corrupt zip archive: {exc}") from exc


def _single_top_folder(archive: Path, zf: zipfile.ZipFile) -> str:
    tops = {name.split("/", 1)[0] for name in zf.namelist() if name.strip("/")}
    if len(tops) != 1:
        raise PackageError(
            f"{archive}: expected one top folder in the archive, found {sorted(tops)[:5]}"
        )
    return tops.pop()


def _safe_extract_all(archive: Path, zf: zipfile.ZipFile, destination: Path) -> None:
    real_destination = destination.resolve()
    for member in zf.infolist():
        target = (destination / member.filename).resolve()
        if real_destination not in target.parents and target != real_destination:
            raise PackageError(f"{archive}: member {member.filename!r} escapes the archive folder")
        if stat.S_ISLNK(member.external_attr >> 16):
            raise PackageError(f"{archive}: member {member.filename!r} is a symlink")
    destination.mkdir(parents=True, exist_ok=True)
    zf.extractall(destination)


def _version_key(package: ArgosPackage) -> tuple:
    from packaging.version import InvalidVersion, Version

    try:
        return (Version(package.version),)
    except InvalidVersion:
        return (Version("0"),)
