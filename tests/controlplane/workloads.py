"""What KServe 0.20's controller creates for the resources of an overlay, and how to read it."""

from __future__ import annotations

import json
from typing import Any

from tests.manifests.rendering import Resource, annotations

# Kinds of the overlays that KServe's controller reconciles into workloads.
RECONCILED = {"InferenceService", "InferenceGraph"}


def is_knative(resource: Resource) -> bool:
    return annotations(resource).get("serving.kserve.io/deploymentMode") == "Knative"


def workloads(resource: Resource) -> list[tuple[str, str]]:
    """(kind, name) of each workload KServe creates for an InferenceService or InferenceGraph:
    a Knative Service in Knative mode, a Deployment in Standard mode; `spec.canary` predictors
    are Deployments named `<service>-<canary name>-predictor`."""
    kind = "ksvc" if is_knative(resource) else "deployment"
    name = resource["metadata"]["name"]
    if resource["kind"] == "InferenceGraph":
        return [(kind, name)]
    spec = resource["spec"]
    found = [(kind, f"{name}-predictor")]
    if "transformer" in spec:
        found.append((kind, f"{name}-transformer"))
    found += [
        ("deployment", f"{name}-{canary['predictor']['name']}-predictor")
        for canary in spec.get("canary") or []
    ]
    return found


def pod_template(workload: Resource) -> dict[str, Any]:
    """The pod template of a Knative Service or a Deployment."""
    return workload["spec"]["template"]


def container(workload: Resource, name: str = "kserve-container") -> dict[str, Any]:
    containers = pod_template(workload)["spec"]["containers"]
    return next(item for item in containers if item["name"] == name)


def arg(args: list[str], flag: str) -> str | None:
    """The value after the last `flag` in an argument list."""
    values = [args[index + 1] for index, item in enumerate(args[:-1]) if item == flag]
    return values[-1] if values else None


def router_graph(router: Resource) -> dict[str, Any]:
    """The graph an InferenceGraph router runs (`--graph-json`), as KServe resolved it."""
    (router_container,) = pod_template(router)["spec"]["containers"]
    graph = arg(router_container["args"], "--graph-json")
    assert graph is not None, f"router {router['metadata']['name']} has no --graph-json"
    return json.loads(graph)


def condition(resource: Resource, kind: str) -> dict[str, Any] | None:
    for item in (resource.get("status") or {}).get("conditions") or []:
        if item["type"] == kind:
            return item
    return None


def is_ready(resource: Resource | None) -> bool:
    found = condition(resource or {}, "Ready")
    return bool(found and found["status"] == "True")
