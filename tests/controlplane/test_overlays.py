"""Every overlay in manifests/overlays, applied as users apply it (`kubectl apply --server-side
-k`), meets the real API server and KServe 0.20's admission webhooks (a server-side dry run, then
for real) and is reconciled by the real KServe controller until each InferenceService and
InferenceGraph is Ready, built as the manifests say (tests/controlplane/expectations.py: the
transformer wired to its predictor, autoscaling settings, the serving runtime, graph routers).
New overlays are picked up by themselves.

Ready needs the status of what KServe creates (Knative Services, Deployments, HTTPRoutes); with no
Knative, kubelet or gateway here, the tests write it through the status subresource
(tests/controlplane/status.py), as KServe's own controller tests do.
"""

from __future__ import annotations

import json

import pytest

from tests.controlplane.cluster import NAMESPACE, ControlPlane, KubectlFailed
from tests.controlplane.expectations import check_reconciled
from tests.controlplane.status import all_workloads_ready
from tests.controlplane.workloads import RECONCILED, is_ready, workloads
from tests.manifests.rendering import Resource, key, overlay_names
from tests.support.availability import unavailable


def resource_type(resource: Resource) -> str:
    """kubectl's name for the resource's type: `<kind>.<group>`, or the kind of a core type."""
    group = resource["apiVersion"].rpartition("/")[0]
    return f"{resource['kind'].lower()}.{group}" if group else resource["kind"].lower()


def namespace_of(resource: Resource) -> str | None:
    return resource["metadata"].get("namespace")


def apply_dry_run(cluster: ControlPlane, overlay: str) -> str:
    try:
        return cluster.apply(overlay, "--dry-run=server")
    except KubectlFailed as failure:
        if "no matches for kind" in failure.output:
            unavailable(
                f"{overlay} uses a kind without a CRD on the local control plane (the CRDs come "
                f"from ../shared/schemas, or KSERVE_ARGOS_SCHEMAS):\n{failure.output}"
            )
        raise


# Reconciles from a stale cache lose a race with the API server and are retried: an update of an
# object changed since (optimistic concurrency), or a create of one the previous reconcile made
# and the cache has not seen yet. Under load KServe reports some of those as warnings, which say
# nothing about the manifests (the overlay still has to end up Ready, as built).
RETRIED_RACES = (
    "the object has been modified; please apply your changes to the latest version",
    "already exists",
)


def warnings(cluster: ControlPlane) -> list[str]:
    """KServe's warning events in the namespace (reconcile errors)."""
    return [
        f"{event['involvedObject']['kind']}/{event['involvedObject']['name']}: "
        f"{event['reason']}: {event['message']}"
        for event in cluster.items("events")
        if event["type"] == "Warning"
        and not any(race in event["message"] for race in RETRIED_RACES)
    ]


@pytest.mark.parametrize("overlay", overlay_names())
def test_overlay_is_accepted_and_reconciled(cluster: ControlPlane, overlay: str) -> None:
    resources = cluster.render(overlay)
    reconciled = [item for item in resources if item["kind"] in RECONCILED]
    # A server-side dry run of namespaced resources needs their namespace to exist already.
    cluster.kubectl("create", "namespace", NAMESPACE)

    dry_run = apply_dry_run(cluster, overlay)
    accepted = [line for line in dry_run.splitlines() if line.endswith("(server dry run)")]
    assert len(accepted) == len(resources), dry_run
    assert not cluster.items("inferenceservices"), "a dry run must not create anything"

    cluster.apply(overlay)
    for resource in resources:
        stored = cluster.get(
            resource_type(resource), resource["metadata"]["name"], namespace_of(resource)
        )
        assert stored is not None, f"{key(resource)} was applied but is not stored"

    for resource in reconciled:
        for kind, name in workloads(resource):
            if resource["kind"] == "InferenceGraph":
                continue  # a router needs its services ready first, below
            cluster.wait_for(
                f"KServe creates {kind} {name} for {key(resource)}",
                lambda kind=kind, name=name: cluster.get(kind, name),
            )

    def everything_ready() -> bool:
        all_workloads_ready(cluster)
        return all(
            is_ready(cluster.get(resource_type(item), item["metadata"]["name"]))
            for item in reconciled
        )

    cluster.wait_for(
        f"every InferenceService and InferenceGraph of {overlay} is Ready", everything_ready
    )
    check_reconciled(cluster, resources)
    assert not warnings(cluster), "\n".join(warnings(cluster))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("modelFormat", {"name": "sklearn"}, "does not support specified framework/version"),
        ("protocolVersion", "v1", "does not support specified protocol version"),
    ],
)
def test_controller_reports_a_model_its_runtime_cannot_serve(
    cluster: ControlPlane, field: str, value: object, message: str
) -> None:
    """What the offline rules used to check (the model's format and protocol against the
    runtime): KServe's controller refuses to build the predictor and says why in an event."""
    cluster.apply("mlserver")
    isvc = next(item for item in cluster.render("mlserver") if item["kind"] == "InferenceService")
    isvc["metadata"]["name"] = "mismatched"
    isvc["spec"]["predictor"]["model"][field] = value
    cluster.kubectl("apply", "--server-side", "-f", "-", stdin=json.dumps(isvc))
    cluster.wait_for(
        f"KServe reports: specified runtime argos-mlserver {message}",
        lambda: any(
            item.startswith("InferenceService/mismatched:") and message in item
            for item in warnings(cluster)
        ),
    )
    assert cluster.get("ksvc", "mismatched-predictor") is None
