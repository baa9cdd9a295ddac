"""Render the kustomize overlays with the real kustomize and walk the resulting resources."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = REPO_ROOT / "manifests"
OVERLAYS_DIR = MANIFESTS / "overlays"
KUSTOMIZE = Path(os.environ.get("KUSTOMIZE", REPO_ROOT / ".tools" / "bin" / "kustomize"))
KUSTOMIZE_VERSION = "v5.8.2"

Resource = dict[str, Any]


def overlay_names() -> list[str]:
    return sorted(
        path.name for path in OVERLAYS_DIR.iterdir() if (path / "kustomization.yaml").is_file()
    )


def kustomize_build(directory: Path) -> list[Resource]:
    """`kustomize build DIRECTORY`, parsed; raises with kustomize's message on failure."""
    result = subprocess.run(
        [str(KUSTOMIZE), "build", str(directory)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kustomize build {directory} failed:\n{result.stderr}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def key(resource: Resource) -> str:
    metadata = resource.get("metadata", {})
    namespace = metadata.get("namespace")
    name = metadata.get("name", "?")
    return f"{resource.get('kind')}/{namespace + '/' if namespace else ''}{name}"


def of_kind(resources: list[Resource], kind: str) -> list[Resource]:
    return [resource for resource in resources if resource.get("kind") == kind]


def annotations(resource: Resource) -> dict[str, str]:
    return resource.get("metadata", {}).get("annotations") or {}


@dataclass(frozen=True)
class Component:
    """One component (predictor, transformer, canary predictor) of an InferenceService."""

    isvc: Resource
    role: str  # "predictor", "transformer" or "canary:<name>"
    spec: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{key(self.isvc)} {self.role}"

    def containers(self) -> list[dict[str, Any]]:
        """Pod containers; a `model:` predictor counts as its one kserve-container."""
        found = list(self.spec.get("containers") or [])
        if "model" in self.spec:
            found.append({"name": "kserve-container", **self.spec["model"]})
        return found


def components(isvc: Resource) -> Iterator[Component]:
    spec = isvc.get("spec", {})
    for role in ("predictor", "transformer", "explainer"):
        if role in spec:
            yield Component(isvc, role, spec[role])
    for canary in spec.get("canary") or []:
        predictor = canary.get("predictor", {})
        yield Component(isvc, f"canary:{predictor.get('name', '?')}", predictor)


def manifest_files() -> list[Path]:
    """Every YAML file under manifests/ except kustomizations and the patches they apply."""
    patches: set[Path] = set()
    kustomizations = sorted(MANIFESTS.rglob("kustomization.yaml"))
    for kustomization in kustomizations:
        content = yaml.safe_load(kustomization.read_text()) or {}
        for patch in content.get("patches") or []:
            if "path" in patch:
                patches.add((kustomization.parent / patch["path"]).resolve())
    return sorted(
        path
        for path in MANIFESTS.rglob("*.yaml")
        if path.name != "kustomization.yaml" and path.resolve() not in patches
    )


def load_file(path: Path) -> list[Resource]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def runtime_of(isvc: Resource, resources: list[Resource]) -> Resource | None:
    """The (Cluster)ServingRuntime among `resources` that the InferenceService's model names."""
    model = isvc["spec"]["predictor"].get("model")
    if not model or "runtime" not in model:
        return None
    runtimes = of_kind(resources, "ServingRuntime") + of_kind(resources, "ClusterServingRuntime")
    named = [runtime for runtime in runtimes if runtime["metadata"]["name"] == model["runtime"]]
    # KServe looks in the namespace first, then cluster-wide.
    named.sort(key=lambda runtime: runtime["kind"] != "ServingRuntime")
    return named[0] if named else None
