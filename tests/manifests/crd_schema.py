"""Strict validation of custom resources against the upstream CRDs in ../shared/schemas.

The apiserver prunes (or, with kubectl's default strict field validation, rejects) fields a
structural CRD schema does not declare. A JSON schema only does that with
`additionalProperties: false`, so the CRD's openAPIV3Schema is converted: every object node that
lists `properties` and neither allows more (`additionalProperties`) nor preserves unknown fields
(`x-kubernetes-preserve-unknown-fields`) becomes closed. `nullable` becomes a "null" type.
`metadata` (just `type: object` in CRDs) is validated strictly as Kubernetes ObjectMeta.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource

# shared/ sits beside the repository, on developer machines and in CI alike.
SCHEMAS_DIR = Path(
    os.environ.get(
        "KSERVE_ARGOS_SCHEMAS", Path(__file__).resolve().parents[3] / "shared" / "schemas"
    )
)
# The CRDs the manifests are checked against (SOURCES.md in SCHEMAS_DIR says where they come from).
CRD_FILES = (
    "kserve/serving.kserve.io_inferenceservices.yaml",
    "kserve/serving.kserve.io_inferencegraphs.yaml",
    "kserve/serving.kserve.io_servingruntimes.yaml",
    "kserve/serving.kserve.io_clusterservingruntimes.yaml",
    "knative/sources.knative.dev_kafkasources.yaml",
    "prometheus-operator/monitoring.coreos.com_podmonitors.yaml",
    "prometheus-operator/monitoring.coreos.com_prometheusrules.yaml",
    "keda/keda.sh_scaledobjects.yaml",
    "keda/keda.sh_triggerauthentications.yaml",
)
# Kubernetes version whose ObjectMeta schema (from kubernetes-validate) checks CRD metadata.
OBJECT_META_VERSION = "1.37.0"


@dataclass(frozen=True)
class CrdVersion:
    group: str
    version: str
    kind: str
    scope: str
    schema: dict[str, Any]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


def missing_schema_files() -> list[str]:
    return [name for name in CRD_FILES if not (SCHEMAS_DIR / name).is_file()]


def load_crds(schemas_dir: Path = SCHEMAS_DIR) -> dict[tuple[str, str], CrdVersion]:
    """(apiVersion, kind) -> strict schema, for every served version of every CRD file."""
    crds: dict[tuple[str, str], CrdVersion] = {}
    for name in CRD_FILES:
        # libyaml's loader: the InferenceService CRD alone is 2 MB of YAML.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        for document in yaml.load_all((schemas_dir / name).read_text(), Loader=loader):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            spec = document["spec"]
            for version in spec["versions"]:
                if not version.get("served", False):
                    continue
                crd = CrdVersion(
                    group=spec["group"],
                    version=version["name"],
                    kind=spec["names"]["kind"],
                    scope=spec["scope"],
                    schema=strict_schema(version["schema"]["openAPIV3Schema"]),
                )
                crds[(crd.api_version, crd.kind)] = crd
    return crds


def strict_schema(openapi: Mapping[str, Any]) -> dict[str, Any]:
    """A JSON schema that rejects every field the CRD schema does not declare."""
    schema = copy.deepcopy(dict(openapi))
    _close(schema)
    return schema


def _close(node: Any) -> None:
    if isinstance(node, list):
        for item in node:
            _close(item)
        return
    if not isinstance(node, dict):
        return
    if node.pop("nullable", False):
        kind = node.get("type")
        if isinstance(kind, str):
            node["type"] = [kind, "null"]
    preserves = node.get("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in node and "additionalProperties" not in node and not preserves:
        node["additionalProperties"] = False
    for key, value in node.items():
        if key == "properties":
            for child in value.values():
                _close(child)
        elif key in ("items", "additionalProperties", "not") or key in ("allOf", "anyOf", "oneOf"):
            _close(value)


@cache
def _object_meta_validator() -> jsonschema.protocols.Validator:
    folder = resources.files("kubernetes_validate").joinpath(
        "kubernetes-json-schema", f"v{OBJECT_META_VERSION}-local-strict"
    )
    meta = json.loads(folder.joinpath("objectmeta-meta-v1.json").read_text())
    definitions = json.loads(folder.joinpath("_definitions.json").read_text())
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(meta) @ Registry())
    return jsonschema.Draft202012Validator(meta, registry=registry)


def validation_errors(resource: Mapping[str, Any], crd: CrdVersion) -> list[str]:
    """Every schema violation of `resource`, as `path: message` strings (empty when valid)."""
    errors = [
        f"{_path(error.absolute_path)}: {error.message}"
        for error in jsonschema.Draft202012Validator(crd.schema).iter_errors(resource)
    ]
    metadata = resource.get("metadata", {})
    errors += [
        f"metadata.{_path(error.absolute_path)}: {error.message}"
        for error in _object_meta_validator().iter_errors(metadata)
    ]
    if crd.scope == "Cluster" and "namespace" in metadata:
        errors.append("metadata.namespace: set on a cluster-scoped resource")
    return sorted(errors)


def _path(parts: Iterator[Any]) -> str:
    return ".".join(str(part) for part in parts) or "<root>"
