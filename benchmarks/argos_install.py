"""Install an .argosmodel with argostranslate's own installer, set up to split sentences offline.

argostranslate (and LibreTranslate, through its fork argos-translate-lt) splits text into
sentences with MiniSBD or Stanza models that are downloaded on first use. Offline, the
supported alternative is `ARGOS_CHUNK_TYPE=SPACY` with a spaCy pipeline packaged inside the
Argos package (`<package>/spacy`): argostranslate loads it and adds spaCy's rule-based
`sentencizer`. This writes a blank spaCy pipeline for the source language there.

LibreTranslate runs its first-boot model download whenever fewer than two packages are
installed; offline that retries for many minutes (argos-translate-lt's package index lookup
recurses on every failure, MiniSBD retries each model 10 times with backoff). `--second-pair`
also installs the same package relabelled es->en, a pair the benchmark never calls, so
LibreTranslate starts with its models as given.

    ARGOS_PACKAGES_DIR=... python -m benchmarks.argos_install PACKAGE.argosmodel [--second-pair]
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import zipfile
from pathlib import Path

OFFLINE_ENV = {"ARGOS_CHUNK_TYPE": "SPACY", "ARGOS_DEVICE_TYPE": "cpu"}


def argos_environment(
    root: Path, beam_size: int, inter_threads: int, intra_threads: int = 1,
    compute_type: str = "default",
) -> dict[str, str]:
    """Environment for an argostranslate process whose packages live under `root`.

    The beam size and compute type are the servers' (equal outputs); argostranslate's own
    defaults are beam 4 and compute type `auto`. Threads: argostranslate's defaults are
    `inter_threads` 1 and `intra_threads` 0 (CTranslate2 then runs each call on an OpenMP team
    of several threads), which made the baselines 3-20x slower per call whenever other
    processes held a core; the baselines run `inter_threads` = the CPUs, one thread each, like
    the servers at high load.
    """
    return {
        **OFFLINE_ENV,
        "ARGOS_PACKAGES_DIR": str(root / "packages"),
        "XDG_DATA_HOME": str(root / "data"),
        "XDG_CONFIG_HOME": str(root / "config"),
        "XDG_CACHE_HOME": str(root / "cache"),
        "ARGOS_BEAM_SIZE": str(beam_size),
        "ARGOS_COMPUTE_TYPE": compute_type,
        "ARGOS_INTER_THREADS": str(inter_threads),
        "ARGOS_INTRA_THREADS": str(intra_threads),
        "OMP_NUM_THREADS": str(intra_threads),
    }


def install(package_file: Path) -> Path:
    """Install into $ARGOS_PACKAGES_DIR; returns the installed package folder."""
    from argostranslate import package

    if "ARGOS_PACKAGES_DIR" not in os.environ:
        raise RuntimeError("set ARGOS_PACKAGES_DIR (see argos_environment)")
    package.install_from_path(package_file)
    add_sentencizers()
    with zipfile.ZipFile(package_file) as archive:
        top = archive.namelist()[0].split("/", 1)[0]
    folder = Path(os.environ["ARGOS_PACKAGES_DIR"]) / top
    if not (folder / "metadata.json").is_file():
        raise RuntimeError(f"argostranslate did not install {package_file} into {folder}")
    return folder


def add_sentencizers() -> None:
    """Give every installed translate package a blank spaCy pipeline for its source language."""
    import spacy
    from argostranslate import package

    for installed in package.get_installed_packages():
        spacy_dir = Path(installed.package_path) / "spacy"
        if installed.type == "translate" and not (spacy_dir / "config.cfg").exists():
            spacy.blank(installed.from_code).to_disk(spacy_dir)


def install_second_pair(package_file: Path) -> None:
    """Install `package_file` relabelled with the reverse pair (see the module docstring)."""
    from argostranslate import package

    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(package_file) as source:
        relabelled = Path(scratch) / "reverse.argosmodel"
        with zipfile.ZipFile(relabelled, "w") as target:
            for member in source.infolist():
                top, _, rest = member.filename.partition("/")
                name = f"{top}-reverse/{rest}"
                data = source.read(member) if not member.is_dir() else b""
                if rest == "metadata.json":
                    metadata = json.loads(data)
                    metadata.update(
                        from_code=metadata["to_code"], to_code=metadata["from_code"],
                        from_name=metadata.get("to_name"), to_name=metadata.get("from_name"),
                        code=f"{metadata.get('code', top)}-reverse",
                    )
                    data = json.dumps(metadata).encode()
                target.writestr(name, data)
        package.install_from_path(relabelled)
    add_sentencizers()


def main() -> None:
    package_file = Path(sys.argv[1])
    print(install(package_file))
    if "--second-pair" in sys.argv[2:]:
        install_second_pair(package_file)


if __name__ == "__main__":
    main()
