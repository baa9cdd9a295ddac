"""Broken variants of the overlays' resources are refused by the real API server, by the CRD
schemas or KServe 0.20's admission webhooks, each with a message that names the problem. These
are the rules tests/manifests/webhook_rules.py no longer re-implements offline.

Each case is a server-side dry run (`kubectl apply --server-side --dry-run=server`): admission
runs in full, nothing is stored.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.controlplane.cluster import NAMESPACE, ControlPlane
from tests.manifests.rendering import Resource

Mutation = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Case:
    overlay: str
    name: str  # of the resource the mutation breaks
    mutate: Mutation
    message: str  # what the refusal must say


def setter(path: str, value: Any) -> Mutation:
    """Set the field at a dotted path (list indexes as numbers)."""

    def mutate(resource: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = resource
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        node[int(last) if last.isdigit() else last] = value

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(resource: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(resource)

    return mutate


def duplicate_canary(resource: dict[str, Any]) -> None:
    resource["spec"]["canary"].append(copy.deepcopy(resource["spec"]["canary"][0]))


def second_canary_at_95(resource: dict[str, Any]) -> None:
    second = copy.deepcopy(resource["spec"]["canary"][0])
    second["predictor"]["name"] = "beam1"
    second["trafficPercent"] = 95
    resource["spec"]["canary"].append(second)


def add_canary_to_knative(resource: dict[str, Any]) -> None:
    resource["spec"]["canary"] = [{"trafficPercent": 10, "predictor": {"name": "int8"}}]
    resource["spec"]["canary"][0]["predictor"]["containers"] = resource["spec"]["predictor"][
        "containers"
    ]


def rename_root(resource: dict[str, Any]) -> None:
    resource["spec"]["nodes"]["first"] = resource["spec"]["nodes"].pop("root")


def drop_weight(resource: dict[str, Any]) -> None:
    del resource["spec"]["nodes"]["root"]["steps"][1]["weight"]


CASES = {
    # The three the issue names.
    "canary percent above 100": Case(
        "standard-canary",
        "translator",
        setter("spec.canary.0.trafficPercent", 150),
        "spec.canary[0].trafficPercent in body should be less than or equal to 100",
    ),
    "minReplicas above maxReplicas": Case(
        "default",
        "translator",
        both(setter("spec.predictor.minReplicas", 5), setter("spec.predictor.maxReplicas", 2)),
        "'MinReplicas' cannot be greater than MaxReplicas",
    ),
    "Splitter weights not summing to 100": Case(
        "graphs",
        "translate-ab",
        setter("spec.nodes.root.steps.1.weight", 30),
        "InferenceGraph[translate-ab] Node[root] splitter node: "
        "the sum of traffic weights for all routing targets should be 100",
    ),
    # The other KServe rules the overlays rely on.
    "Splitter step without a weight": Case(
        "graphs", "translate-ab", drop_weight, "missing the 'Weight'"
    ),
    "negative minReplicas": Case(
        "default",
        "translator",
        setter("spec.predictor.minReplicas", -1),
        "'MinReplicas' cannot be less than 0",
    ),
    "negative containerConcurrency": Case(
        "default",
        "translator",
        setter("spec.predictor.containerConcurrency", -1),
        "parallelism cannot be less than 0",
    ),
    "HPA metric in Knative mode": Case(
        "default",
        "translator",
        setter("spec.predictor.scaleMetric", "cpu"),
        "[cpu] is not a supported metric",
    ),
    "rps target below 1": Case(
        "default",
        "translator",
        both(setter("spec.predictor.scaleMetric", "rps"), setter("spec.predictor.scaleTarget", 0)),
        "the target for rps should be greater than 1",
    ),
    "two implementations": Case(
        "default",
        "translator",
        setter("spec.predictor.model", {"modelFormat": {"name": "argos-translate"}}),
        "must be specified in PredictorSpec",
    ),
    "deploymentStrategy in Knative mode": Case(
        "default",
        "translator",
        setter("spec.predictor.deploymentStrategy", {"type": "Recreate"}),
        "customizing deploymentStrategy is only supported for raw deployment mode",
    ),
    "spec.canary in Knative mode": Case(
        "default",
        "translator",
        add_canary_to_knative,
        "canary is only supported in Standard deployment mode",
    ),
    "canary name used twice": Case(
        "standard-canary",
        "translator",
        duplicate_canary,
        'canary predictor.name "int8" is duplicated',
    ),
    "canary percentages summing above 100": Case(
        "standard-canary",
        "translator",
        second_canary_at_95,
        "sum of canary trafficPercent values (105) must be <= 100",
    ),
    "canary with autoscaling": Case(
        "standard-canary",
        "translator",
        setter("spec.canary.0.predictor.scaleTarget", 5),
        'canary "int8" must not set scaleTarget (canary uses fixed replicas)',
    ),
    "canary name not a DNS label": Case(
        "standard-canary",
        "translator",
        setter("spec.canary.0.predictor.name", "Int_8"),
        "spec.canary[0].predictor.name in body should match",
    ),
    "Knative metric under HPA": Case(
        "standard-canary",
        "translator",
        setter("spec.predictor.scaleMetric", "concurrency"),
        "[concurrency] is not a supported metric",
    ),
    "CPU target above 100%": Case(
        "standard-canary",
        "translator",
        setter("spec.predictor.scaleTarget", 150),
        "the target utilization percentage should be a [1-100] integer",
    ),
    "unknown autoscaler class": Case(
        "standard-canary",
        "translator",
        lambda resource: resource["metadata"]["annotations"].update(
            {"serving.kserve.io/autoscalerClass": "vpa"}
        ),
        "[vpa] is not a supported autoscaler class type",
    ),
    "graph without a root node": Case(
        "graphs", "translate-pivot", rename_root, "root node not found"
    ),
    "graph step names used twice": Case(
        "graphs",
        "translate-ab",
        setter("spec.nodes.root.steps.1.name", "kserve"),
        'Node "root" of InferenceGraph "translate-ab" contains more than one step with name',
    ),
    "graph step with two targets": Case(
        "graphs",
        "translate-ab",
        setter("spec.nodes.root.steps.0.serviceUrl", "http://elsewhere"),
        "specifies more than one of nodeName, serviceName, serviceUrl",
    ),
    "unknown field": Case(
        "default",
        "translator",
        setter("spec.predictor.minReplica", 0),
        ".spec.predictor.minReplica: field not declared in schema",
    ),
}


@pytest.fixture(scope="module")
def dry_runs(controlplane: ControlPlane) -> Iterator[ControlPlane]:
    """The namespace server-side dry runs of namespaced resources need (deleted afterwards)."""
    controlplane.kubectl("create", "namespace", NAMESPACE)
    try:
        yield controlplane
    finally:
        controlplane.kubectl(
            "delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=300s"
        )


def broken(plane: ControlPlane, case: Case) -> Resource:
    resource = next(
        item for item in plane.render(case.overlay) if item["metadata"]["name"] == case.name
    )
    resource = copy.deepcopy(resource)
    case.mutate(resource)
    return resource


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_broken_resource_is_refused(dry_runs: ControlPlane, case: Case) -> None:
    resource = broken(dry_runs, case)
    refusal = dry_runs.refused(
        "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=json.dumps(resource)
    )
    assert case.message in refusal, refusal


def test_unbroken_resources_pass_the_same_dry_run(dry_runs: ControlPlane) -> None:
    """The cases fail because of their mutation, not because of how they are sent."""
    for overlay, name in {(case.overlay, case.name) for case in CASES.values()}:
        original = next(i for i in dry_runs.render(overlay) if i["metadata"]["name"] == name)
        dry_runs.kubectl(
            "apply", "--server-side", "--dry-run=server", "-f", "-", stdin=json.dumps(original)
        )


def test_make_canary_refuses_a_bad_percent(controlplane: ControlPlane) -> None:
    """`make canary` checks PERCENT before it reaches any server."""
    for percent in ("150", "-5", "ten", ""):
        result = controlplane.make("canary", f"PERCENT={percent}")
        assert result.returncode != 0
        assert "Set PERCENT to an integer 0-100" in result.stdout + result.stderr


def test_canary_overlay_policy_refuses_a_bad_percent(cluster: ControlPlane) -> None:
    """KServe 0.20 accepts any canaryTrafficPercent (Knative would refuse the split it writes,
    leaving the InferenceService stuck); the canary overlay's ValidatingAdmissionPolicy makes the
    API server refuse it at once."""
    cluster.apply("canary")
    patch = json.dumps({"spec": {"predictor": {"canaryTrafficPercent": 150}}})
    command = ("patch", "inferenceservice", "translator", "-n", NAMESPACE, "--type=merge")

    def refused() -> str | None:
        output = cluster.kubectl(*command, "--dry-run=server", "-p", patch, check=False)
        return output if "ValidatingAdmissionPolicy" in output else None

    # The API server starts enforcing a new policy once it has compiled it.
    refusal = cluster.wait_for("the API server enforces the canary policy", refused)
    assert "spec.predictor.canaryTrafficPercent must be between 0 and 100, got 150" in refusal
    cluster.kubectl(*command, "--dry-run=server", "-p", patch.replace("150", "100"))
