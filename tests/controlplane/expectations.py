"""What the real KServe controller must have built from a manifest, derived from the manifest
itself (so it holds for every overlay): the transformer wired to its predictor, the autoscaling
settings carried over, the model's serving runtime selected, graph routers calling the services
with the protocol and model name those serve."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from tests.controlplane.cluster import NAMESPACE, ControlPlane
from tests.controlplane.workloads import arg, container, is_knative, pod_template, router_graph
from tests.manifests.rendering import Resource, annotations, key
from tests.manifests.webhook_rules import served_model_name

KNATIVE_AUTOSCALING = {  # component field -> Knative Service annotation
    "minReplicas": "autoscaling.knative.dev/min-scale",
    "maxReplicas": "autoscaling.knative.dev/max-scale",
    "scaleTarget": "autoscaling.knative.dev/target",
    "scaleMetric": "autoscaling.knative.dev/metric",
}


def fetched(plane: ControlPlane, kind: str, name: str) -> Resource:
    found = plane.get(kind, name)
    assert found is not None, f"KServe made no {kind} {name}"
    return found


def check_inference_service(plane: ControlPlane, isvc: Resource) -> None:
    name, spec = isvc["metadata"]["name"], isvc["spec"]
    components = [("predictor", spec["predictor"])]
    if "transformer" in spec:
        components.append(("transformer", spec["transformer"]))
    autoscaler = annotations(isvc).get("serving.kserve.io/autoscalerClass", "hpa")
    for role, component in components:
        workload = f"{name}-{role}"
        if is_knative(isvc):
            check_knative_autoscaling(fetched(plane, "ksvc", workload), component)
        elif autoscaler == "hpa":
            check_hpa(fetched(plane, "hpa", workload), component)
        elif autoscaler == "keda":
            check_scaled_object(fetched(plane, "scaledobject.keda.sh", workload), component)
    if "transformer" in spec:
        kind = "ksvc" if is_knative(isvc) else "deployment"
        check_transformer(fetched(plane, kind, f"{name}-transformer"), isvc)
    for canary in spec.get("canary") or []:
        check_canary(plane, isvc, canary)
    if "model" in spec["predictor"]:
        check_runtime(plane, isvc)


def check_knative_autoscaling(service: Resource, component: dict[str, Any]) -> None:
    template = pod_template(service)
    found = template["metadata"].get("annotations") or {}
    expected = {
        annotation: str(component[field])
        for field, annotation in KNATIVE_AUTOSCALING.items()
        if field in component
    }
    expected.update(component.get("annotations") or {})  # initial-scale, scale-down-delay, ...
    where = f"Knative Service {service['metadata']['name']}"
    for annotation, value in expected.items():
        assert found.get(annotation) == value, f"{where}: {annotation}={found.get(annotation)!r}"
    if "containerConcurrency" in component:
        assert template["spec"]["containerConcurrency"] == component["containerConcurrency"], where


def check_hpa(hpa: Resource, component: dict[str, Any]) -> None:
    spec, where = hpa["spec"], f"HPA {hpa['metadata']['name']}"
    assert spec["minReplicas"] == component.get("minReplicas", 1), where
    assert spec["maxReplicas"] == component["maxReplicas"], where
    (metric,) = spec["metrics"]
    assert metric["resource"]["name"] == component.get("scaleMetric", "cpu"), where
    target = metric["resource"]["target"]
    if "scaleTarget" in component and "averageUtilization" in target:
        assert target["averageUtilization"] == component["scaleTarget"], where


def check_scaled_object(scaled: Resource, component: dict[str, Any]) -> None:
    """autoscalerClass keda: KServe's ScaledObject carries the replica bounds."""
    spec, where = scaled["spec"], f"ScaledObject {scaled['metadata']['name']}"
    minimum = component.get("minReplicas", 1)
    assert spec["minReplicaCount"] == minimum, where
    assert spec["maxReplicaCount"] == max(component.get("maxReplicas", 0), minimum), where


def check_transformer(workload: Resource, isvc: Resource) -> None:
    """The transformer calls its predictor's service, with the manifest's own flags kept and
    the ones KServe appends (host, --workers only when absent) added once."""
    name, namespace = isvc["metadata"]["name"], isvc["metadata"]["namespace"]
    written = isvc["spec"]["transformer"]["containers"][0]["args"]
    args = container(workload)["args"]
    assert args[: len(written)] == written, f"{key(isvc)}: transformer args changed: {args}"
    assert arg(args, "--predictor_host") == f"{name}-predictor.{namespace}", args
    for flag in ("--predictor_host", "--workers", "--model_name", "--http_port"):
        assert args.count(flag) <= 1, f"{key(isvc)}: {flag} twice in {args}"
    concurrency = isvc["spec"]["transformer"].get("containerConcurrency")
    expected_workers = arg(written, "--workers") or (str(concurrency) if concurrency else None)
    assert arg(args, "--workers") == expected_workers, args


def check_canary(plane: ControlPlane, isvc: Resource, canary: dict[str, Any]) -> None:
    """A spec.canary predictor: a Deployment with its own container spec and fixed replicas."""
    predictor = canary["predictor"]
    deployment = fetched(
        plane, "deployment", f"{isvc['metadata']['name']}-{predictor['name']}-predictor"
    )
    assert container(deployment)["args"] == predictor["containers"][0]["args"]
    assert deployment["spec"]["replicas"] == predictor["minReplicas"]


def check_runtime(plane: ControlPlane, isvc: Resource) -> None:
    """The model's runtime is the one KServe selected and runs."""
    model = isvc["spec"]["predictor"]["model"]
    status = fetched(plane, "inferenceservice", isvc["metadata"]["name"])["status"]
    selected = status.get("servingRuntimeName") or status.get("clusterServingRuntimeName")
    assert selected == model["runtime"], f"{key(isvc)}: runtime {selected!r} selected"
    kind = "servingruntime" if status.get("servingRuntimeName") else "clusterservingruntime"
    runtime = plane.get(kind, selected, NAMESPACE if kind == "servingruntime" else None)
    assert runtime is not None
    predictor = fetched(
        plane, "ksvc" if is_knative(isvc) else "deployment", f"{isvc['metadata']['name']}-predictor"
    )
    assert container(predictor)["image"] == runtime["spec"]["containers"][0]["image"]


def step_protocol(url: str) -> tuple[str, str]:
    """(protocol, model) of a URL KServe resolved for a graph step."""
    path = urlsplit(url).path
    if path.startswith("/v2/models/") and path.endswith("/infer"):
        return "v2", path.removeprefix("/v2/models/").removesuffix("/infer")
    assert path.startswith("/v1/models/") and path.endswith(":predict"), url
    return "v1", path.removeprefix("/v1/models/").removesuffix(":predict")


def check_graph(plane: ControlPlane, graph: Resource, services: dict[str, Resource]) -> None:
    """The router runs the graph as written, each serviceName resolved by KServe to that
    service's address, with a protocol and model name the service serves; a Splitter or
    Ensemble sends one request to all its steps, so they share the protocol."""
    kind = "ksvc" if is_knative(graph) else "deployment"
    resolved = router_graph(fetched(plane, kind, graph["metadata"]["name"]))["nodes"]
    for node_name, node in graph["spec"]["nodes"].items():
        where = f"{key(graph)} node {node_name}"
        routed = resolved[node_name]
        assert routed["routerType"] == node["routerType"], where
        assert len(routed["steps"]) == len(node["steps"]), where
        protocols = set()
        for written, step in zip(node["steps"], routed["steps"], strict=True):
            for field in ("name", "weight", "condition", "data", "nodeName", "serviceName"):
                assert step.get(field) == written.get(field), f"{where}: {field} of {step}"
            if "serviceName" not in written:
                continue
            isvc = fetched(plane, "inferenceservice", written["serviceName"])
            address = isvc["status"]["address"]["url"]
            assert step["serviceUrl"].startswith(address + "/"), f"{where}: {step['serviceUrl']}"
            protocol, model = step_protocol(step["serviceUrl"])
            assert model == served_model_name(services[written["serviceName"]]), step
            protocols.add(protocol)
        if node["routerType"] in ("Splitter", "Ensemble"):
            assert len(protocols) == 1, f"{where}: steps speak {sorted(protocols)}"


def check_reconciled(plane: ControlPlane, resources: list[Resource]) -> None:
    services = {
        item["metadata"]["name"]: item for item in resources if item["kind"] == "InferenceService"
    }
    for isvc in services.values():
        check_inference_service(plane, isvc)
    for graph in (item for item in resources if item["kind"] == "InferenceGraph"):
        check_graph(plane, graph, services)
