"""Fixtures for the manifest and Dockerfile tests (the images themselves: tests/images).

Real tools only: the pinned kustomize and gjson-eval built by `make kustomize` /
`make .tools/bin/gjson-eval` (both in TEST_DEPS), the upstream CRDs in ../shared/schemas and
kubernetes-validate's bundled Kubernetes schemas. Under CI=true anything missing fails the run;
elsewhere the affected tests are skipped with the reason.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.manifests import crd_schema
from tests.manifests.rendering import (
    KUSTOMIZE,
    KUSTOMIZE_VERSION,
    REPO_ROOT,
    Resource,
    kustomize_build,
    overlay_names,
)
from tests.support.availability import unavailable

GJSON_EVAL = Path(os.environ.get("GJSON_EVAL", REPO_ROOT / ".tools" / "bin" / "gjson-eval"))


@pytest.fixture(scope="session")
def kustomize() -> Path:
    if not KUSTOMIZE.is_file():
        unavailable(f"kustomize not built at {KUSTOMIZE}: run `make kustomize`")
    version = subprocess.run(
        [str(KUSTOMIZE), "version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout.strip()
    assert version == KUSTOMIZE_VERSION, f"expected kustomize {KUSTOMIZE_VERSION}, got {version}"
    return KUSTOMIZE


@pytest.fixture(scope="session")
def rendered(kustomize: Path) -> dict[str, list[Resource]]:
    """`kustomize build` of every overlay: overlay name -> resources."""
    return {
        name: kustomize_build(REPO_ROOT / "manifests" / "overlays" / name)
        for name in overlay_names()
    }


@pytest.fixture(scope="session")
def crds() -> dict[tuple[str, str], crd_schema.CrdVersion]:
    missing = crd_schema.missing_schema_files()
    if missing:
        unavailable(
            f"CRD schemas missing under {crd_schema.SCHEMAS_DIR}: {', '.join(missing)} "
            "(set KSERVE_ARGOS_SCHEMAS to a folder holding them)"
        )
    return crd_schema.load_crds()


@pytest.fixture(scope="session")
def gjson_eval() -> Path:
    if not GJSON_EVAL.is_file():
        unavailable(f"gjson-eval not built at {GJSON_EVAL}: run `make {GJSON_EVAL}`")
    return GJSON_EVAL
