"""The rollout commands users run (`make deploy`, `make canary PERCENT=…`, `make promote`,
`make rollback`), against the local control plane the way a user would have it (no KUBECONFIG:
mk/deploy.mk finds the control plane itself), and what the real KServe controller makes of them.

Knative reports revisions and traffic in the Knative Service's status; here the tests write that
status (tests/controlplane/status.py), as KServe's own canary tests do, and assert what KServe
writes in return: the traffic split of the Knative Service's spec and the rollout bookkeeping in
the InferenceService's status. In Standard mode the tests report Deployments available and
HTTPRoutes accepted, and assert the canary Deployments, their status and the Gateway API routes.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.controlplane.cluster import ControlPlane
from tests.controlplane.status import (
    all_workloads_ready,
    knative_service_ready,
    revision_name,
)
from tests.controlplane.workloads import condition, container, is_ready

PREDICTOR = "translator-predictor"
FIRST, SECOND = revision_name(PREDICTOR, 1), revision_name(PREDICTOR, 2)
GATEWAY = {"namespace": "kserve", "name": "kserve-ingress-gateway"}  # KServe's default


def traffic(cluster: ControlPlane) -> list[dict[str, Any]] | None:
    service = cluster.get("ksvc", PREDICTOR)
    return service["spec"].get("traffic") if service else None


def split(latest: int, previous: int | None) -> list[dict[str, Any]]:
    """The traffic KServe asks of Knative for a canary with tag routing: the latest revision
    tagged `latest`, the last fully rolled-out one tagged `prev`."""
    targets: list[dict[str, Any]] = [{"latestRevision": True, "percent": latest, "tag": "latest"}]
    if previous is not None:
        targets.append(
            {"latestRevision": False, "percent": previous, "revisionName": FIRST, "tag": "prev"}
        )
    return targets


def predictor_status(cluster: ControlPlane) -> dict[str, Any]:
    isvc = cluster.get("inferenceservice", "translator") or {}
    return (isvc.get("status") or {}).get("components", {}).get("predictor", {})


def make(cluster: ControlPlane, *args: str) -> str:
    result = cluster.make(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_knative_canary_rollout(cluster: ControlPlane) -> None:
    deployed = cluster.deploy("default")
    assert "--kubeconfig" in deployed, "make deploy did not use the local control plane"
    cluster.wait_for("KServe creates the predictor's Knative Service", lambda: traffic(cluster))
    knative_service_ready(cluster, PREDICTOR, FIRST)
    cluster.wait_for(
        f"KServe records {FIRST} as rolled out",
        lambda: predictor_status(cluster).get("latestRolledoutRevision") == FIRST,
    )

    cluster.deploy("canary")  # new predictor arguments (a new revision), 10% of the traffic
    cluster.wait_for("the canary gets 10%", lambda: traffic(cluster) == split(10, 90))
    knative_service_ready(cluster, PREDICTOR, SECOND)
    cluster.wait_for(
        "the InferenceService reports the split",
        lambda: (
            {(t.get("tag"), t["percent"]) for t in predictor_status(cluster).get("traffic", [])}
            == {("latest", 10), ("prev", 90)}
        ),
    )

    for command, expected in (
        (("canary", "PERCENT=30"), split(30, 70)),
        (("rollback",), split(0, 100)),
        (("canary", "PERCENT=50"), split(50, 50)),
        (("promote",), split(100, None)),
    ):
        output = make(cluster, *command)
        assert "--kubeconfig" in output, output
        cluster.wait_for(
            f"make {' '.join(command)}: traffic {expected}",
            lambda e=expected: traffic(cluster) == e,
        )

    knative_service_ready(cluster, PREDICTOR, SECOND)  # Knative moves all traffic to it
    cluster.wait_for(
        f"KServe records {SECOND} rolled out after {FIRST}",
        lambda: (
            (
                predictor_status(cluster).get("latestRolledoutRevision"),
                predictor_status(cluster).get("previousRolledoutRevision"),
            )
            == (SECOND, FIRST)
        ),
    )


def canary_statuses(cluster: ControlPlane) -> list[dict[str, Any]]:
    isvc = cluster.get("inferenceservice", "translator") or {}
    return (isvc.get("status") or {}).get("canaryStatuses") or []


def deploy_standard_canary(cluster: ControlPlane) -> None:
    cluster.deploy("standard-canary")

    def ready() -> bool:
        all_workloads_ready(cluster)
        return is_ready(cluster.get("inferenceservice", "translator"))

    cluster.wait_for("the Standard-mode InferenceService is Ready", ready)


def test_standard_canary_rollout(cluster: ControlPlane) -> None:
    deploy_standard_canary(cluster)
    canary = cluster.get("deployment", "translator-int8-predictor")
    assert canary is not None
    assert "int8" in container(canary)["args"]
    cluster.wait_for(
        "KServe reports the canary ready with 10%",
        lambda: (
            [(s["name"], s["ready"], s["trafficPercent"]) for s in canary_statuses(cluster)]
            == [("int8", True, 10)]
        ),
    )
    for command, percent in ((("canary", "PERCENT=30"), 30), (("promote",), 100)):
        make(cluster, *command, "MODE=standard")
        cluster.wait_for(
            f"make {command[0]} MODE=standard: KServe reports the canary at {percent}%",
            lambda p=percent: [s["trafficPercent"] for s in canary_statuses(cluster)] == [p],
        )

    make(cluster, "rollback", "MODE=standard")  # removes spec.canary

    def rolled_back() -> bool:
        isvc = cluster.get("inferenceservice", "translator") or {}
        return (
            cluster.get("deployment", "translator-int8-predictor") is None
            and cluster.get("service", "translator-int8-predictor") is None
            and condition(isvc, "CanaryPredictorReady") is None
            and not canary_statuses(cluster)
        )

    cluster.wait_for(
        "KServe deletes the canary Deployment and Service and clears the canary status",
        rolled_back,
    )


def backends(cluster: ControlPlane, route: str) -> dict[str, int]:
    found = cluster.get("httproute", route)
    assert found is not None, f"no HTTPRoute {route}"
    return {
        backend["name"]: backend.get("weight", 1)
        for rule in found["spec"]["rules"]
        for backend in rule.get("backendRefs") or []
    }


def test_standard_mode_is_routed_by_gateway_api(cluster: ControlPlane) -> None:
    """With enableGatewayApi (the control plane's KServe configuration), KServe routes a
    Standard-mode InferenceService with HTTPRoutes on its Gateway, to the predictor's Service."""
    deploy_standard_canary(cluster)
    for route in ("translator", PREDICTOR):
        found = cluster.get("httproute", route)
        assert found is not None
        assert [
            {"namespace": parent["namespace"], "name": parent["name"]}
            for parent in found["spec"]["parentRefs"]
        ] == [GATEWAY]
        assert PREDICTOR in backends(cluster, route)
        assert cluster.get("service", PREDICTOR) is not None


@pytest.mark.xfail(
    strict=True,
    reason="KServe 0.20.0 (the newest release the Go module proxy serves) creates spec.canary "
    "Deployments but does not weight HTTPRoute backends; KServe 0.21 does (kserve/kserve#5912). "
    "docs/deploy.md, standard-canary. Passing means the pinned KServe splits: drop this mark.",
)
def test_standard_canary_splits_traffic_on_the_http_route(cluster: ControlPlane) -> None:
    deploy_standard_canary(cluster)
    for route in ("translator", PREDICTOR):
        assert backends(cluster, route) == {PREDICTOR: 90, "translator-int8-predictor": 10}
