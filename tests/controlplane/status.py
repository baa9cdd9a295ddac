"""The status that Knative Serving, the Deployment controller and a Gateway API implementation
would report.

None runs on the local control plane (no kubelet, so no pods; no gateway): like KServe's own
controller tests (pkg/controller/v1beta1/inferenceservice/*_test.go), the tests write that status
through the status subresource of the real API server, so that the real KServe controller sees ready
workloads and goes on with what it does next (rollout bookkeeping, graph routers, HTTPRoutes).
"""

from __future__ import annotations

from typing import Any

from tests.controlplane.cluster import NAMESPACE, ControlPlane

TRUE = "True"
# The controller name a Gateway implementation would write into HTTPRoute status.
GATEWAY_CONTROLLER = "kserve-argos.test/gateway"


def revision_name(service: str, number: int) -> str:
    """Knative's name for the NUMBERth revision of a Knative Service."""
    return f"{service}-{number:05d}"


def knative_service_ready(
    plane: ControlPlane, name: str, revision: str, namespace: str = NAMESPACE
) -> None:
    """Report the Knative Service NAME ready, its latest revision REVISION, and its traffic as
    spec.traffic asks (Knative resolves `latestRevision: true` to the latest ready revision)."""
    service = plane.get("ksvc", name, namespace)
    assert service is not None, f"no Knative Service {namespace}/{name}"
    traffic: list[dict[str, Any]] = []
    for target in service["spec"].get("traffic") or []:
        resolved = dict(target)
        if target.get("latestRevision"):
            resolved["revisionName"] = revision
        if target.get("tag"):
            resolved["url"] = f"http://{target['tag']}-{name}.{namespace}.example.com"
        traffic.append(resolved)
    plane.set_status(
        "ksvc",
        name,
        {
            "observedGeneration": service["metadata"]["generation"],
            "latestCreatedRevisionName": revision,
            "latestReadyRevisionName": revision,
            "url": f"http://{name}.{namespace}.example.com",
            "address": {"url": f"http://{name}.{namespace}.svc.cluster.local"},
            "traffic": traffic,
            "conditions": [
                {"type": kind, "status": TRUE}
                for kind in ("ConfigurationsReady", "Ready", "RoutesReady")
            ],
        },
        namespace,
    )


def deployment_available(plane: ControlPlane, name: str, namespace: str = NAMESPACE) -> None:
    """Report the Deployment NAME rolled out, all its replicas available."""
    deployment = plane.get("deployment", name, namespace)
    assert deployment is not None, f"no Deployment {namespace}/{name}"
    replicas = deployment["spec"].get("replicas", 1)
    plane.set_status(
        "deployment",
        name,
        {
            "observedGeneration": deployment["metadata"]["generation"],
            "replicas": replicas,
            "updatedReplicas": replicas,
            "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": TRUE, "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": TRUE, "reason": "NewReplicaSetAvailable"},
            ],
        },
        namespace,
    )


def http_route_accepted(plane: ControlPlane, name: str, namespace: str = NAMESPACE) -> None:
    """Report the HTTPRoute NAME accepted by each Gateway it names, its backends resolved."""
    route = plane.get("httproute", name, namespace)
    assert route is not None, f"no HTTPRoute {namespace}/{name}"
    generation = route["metadata"]["generation"]
    conditions = [
        {
            "type": kind,
            "status": TRUE,
            "reason": kind,
            "message": "",
            "observedGeneration": generation,
            "lastTransitionTime": "2026-01-01T00:00:00Z",
        }
        for kind in ("Accepted", "ResolvedRefs")
    ]
    parents = [
        {"parentRef": parent, "controllerName": GATEWAY_CONTROLLER, "conditions": conditions}
        for parent in route["spec"]["parentRefs"]
    ]
    plane.set_status("httproute", name, {"parents": parents}, namespace)


def all_workloads_ready(plane: ControlPlane, namespace: str = NAMESPACE) -> None:
    """Every Knative Service (first revision), Deployment and HTTPRoute of the namespace
    reported ready."""
    for service in plane.items("ksvc", namespace):
        name = service["metadata"]["name"]
        knative_service_ready(plane, name, revision_name(name, 1), namespace)
    for deployment in plane.items("deployment", namespace):
        deployment_available(plane, deployment["metadata"]["name"], namespace)
    for route in plane.items("httproute", namespace):
        http_route_accepted(plane, route["metadata"]["name"], namespace)
