"""Every resource, and every `kustomize build` of every overlay, validates strictly: the KServe
and Knative kinds against their upstream CRDs (unknown fields are errors), core kinds against
the Kubernetes schemas of kubernetes-validate."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.manifests.rendering import (
    MANIFESTS,
    Resource,
    key,
    load_file,
    manifest_files,
    of_kind,
    overlay_names,
)
from tests.manifests.schema_checks import NOT_VALIDATED, Crds, resource_errors

OVERLAYS = overlay_names()
FILES = manifest_files()


def _report(resources: list[Resource], crds: Crds) -> tuple[dict[str, list[str]], int]:
    problems, validated = {}, 0
    for resource in resources:
        errors = resource_errors(resource, crds)
        if errors is None:
            continue
        validated += 1
        if errors:
            problems[key(resource)] = errors
    return problems, validated


def test_every_scenario_has_an_overlay() -> None:
    expected = {
        "default",
        "grpc",
        "canary",
        "standard-canary",
        "mlserver",
        "mlserver-cluster",
        "graphs",
        "kafka-source",
        "kafka-direct",
        "kafka-keda",
        "monitoring",
        "explain",
    }
    assert expected <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_validates(overlay: str, rendered: dict, crds: Crds) -> None:
    resources = rendered[overlay]
    keys = [key(resource) for resource in resources]
    assert resources, f"{overlay} renders nothing"
    assert len(keys) == len(set(keys)), f"duplicate resources in {overlay}: {keys}"
    problems, validated = _report(resources, crds)
    assert not problems, f"{overlay}: schema violations:\n" + "\n".join(
        f"  {name}: {error}" for name, errors in problems.items() for error in errors
    )
    assert validated >= 1


@pytest.mark.parametrize("path", FILES, ids=[str(path.relative_to(MANIFESTS)) for path in FILES])
def test_manifest_file_validates(path: Path, crds: Crds) -> None:
    problems, _ = _report(load_file(path), crds)
    assert not problems, f"{path}: " + "; ".join(
        f"{name}: {error}" for name, errors in problems.items() for error in errors
    )


def test_unvalidated_kinds_are_only_the_listed_ones(rendered: dict, crds: Crds) -> None:
    seen = {
        (resource["apiVersion"], resource["kind"])
        for resources in rendered.values()
        for resource in resources
    }
    unvalidated = {identity for identity in seen if resource_errors_is_none(identity, crds)}
    assert unvalidated == set(NOT_VALIDATED) & seen


def resource_errors_is_none(identity: tuple[str, str], crds: Crds) -> bool:
    probe = {"apiVersion": identity[0], "kind": identity[1], "metadata": {"name": "probe"}}
    return resource_errors(probe, crds) is None


# The validation itself must be able to fail: typos and misplaced fields are caught.


def _first(rendered: dict, overlay: str, kind: str) -> Resource:
    return copy.deepcopy(of_kind(rendered[overlay], kind)[0])


def test_unknown_crd_field_is_rejected(rendered: dict, crds: Crds) -> None:
    isvc = _first(rendered, "default", "InferenceService")
    isvc["spec"]["predictor"]["minReplica"] = 0  # typo of minReplicas
    isvc["spec"]["transformer"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/"
    errors = resource_errors(isvc, crds)
    assert any("minReplica'" in error for error in errors), errors
    assert any("paht" in error for error in errors), errors


def test_keda_resources_are_validated_strictly(rendered: dict, crds: Crds) -> None:
    scaled = _first(rendered, "kafka-keda", "ScaledObject")
    scaled["spec"]["minReplicas"] = 0  # typo of minReplicaCount
    scaled["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 100  # KEDA takes strings
    auth = _first(rendered, "kafka-keda", "TriggerAuthentication")
    auth["spec"]["secretTargetRef"][0]["param"] = auth["spec"]["secretTargetRef"][0].pop(
        "parameter"
    )
    scaled_errors = resource_errors(scaled, crds)
    auth_errors = resource_errors(auth, crds)
    assert any("minReplicas'" in error for error in scaled_errors), scaled_errors
    assert any("100 is not of type 'string'" in error for error in scaled_errors), scaled_errors
    assert any("'parameter' is a required property" in error for error in auth_errors), auth_errors


def test_wrong_crd_types_and_enums_are_rejected(rendered: dict, crds: Crds) -> None:
    graph = _first(rendered, "graphs", "InferenceGraph")
    graph["spec"]["nodes"]["root"]["routerType"] = "RoundRobin"
    graph["spec"]["nodes"]["root"]["steps"][0]["weight"] = "80"
    source = _first(rendered, "kafka-source", "KafkaSource")
    source["spec"]["delivery"]["retries"] = 5
    del source["spec"]["topics"]
    graph_errors = resource_errors(graph, crds)
    source_errors = resource_errors(source, crds)
    assert any("RoundRobin" in error for error in graph_errors), graph_errors
    assert any("'80' is not of type 'integer'" in error for error in graph_errors), graph_errors
    assert any("retries" in error for error in source_errors), source_errors
    assert any("'topics' is a required property" in error for error in source_errors), source_errors


def test_bad_metadata_and_cluster_scope_are_rejected(rendered: dict, crds: Crds) -> None:
    runtime = _first(rendered, "mlserver-cluster", "ClusterServingRuntime")
    runtime["metadata"]["namespace"] = "kserve-argos"
    runtime["metadata"]["labels"] = {"app": 3}
    errors = resource_errors(runtime, crds)
    assert any("cluster-scoped" in error for error in errors), errors
    assert any("labels" in error for error in errors), errors


def test_unknown_core_field_is_rejected(rendered: dict, crds: Crds) -> None:
    config = _first(rendered, "kafka-direct", "ConfigMap")
    config["datas"] = config.pop("data")
    role = _first(rendered, "kafka-source", "ClusterRole")
    role["rules"][0]["verb"] = role["rules"][0].pop("verbs")
    assert any("datas" in error for error in resource_errors(config, crds))
    assert any("verb" in error for error in resource_errors(role, crds))
