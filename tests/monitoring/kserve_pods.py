"""The pod KServe runs for one rendered InferenceService component (or a rendered Deployment
runs), as pod discovery sees it, and the ports its server listens on according to the manifests.

KServe's controller labels every component pod with the InferenceService's name and the
component (constants InferenceServicePodLabelKey and KServiceComponentLabel), on top of the
component's own `labels`; in Knative mode the pod also runs Knative's queue-proxy beside the
server container.
"""

from __future__ import annotations

from tests.manifests.rendering import Component, Resource, runtime_of
from tests.manifests.webhook_rules import arg_value, deployment_mode, env_value
from tests.monitoring.pod_monitor import Container, ContainerPort, Pod

# KServe's ModelServer serves HTTP (and /metrics) on --http_port, 8080 unless set; MLServer
# takes its ports from its own variables, with these defaults.
KSERVE_HTTP_PORT = 8080
MLSERVER_DEFAULTS = {"MLSERVER_HTTP_PORT": 8080, "MLSERVER_METRICS_PORT": 8082}
QUEUE_PROXY = Container(
    "queue-proxy",
    (
        ContainerPort(8012, "queue-port"),
        ContainerPort(8022, "http-queueadm"),
        ContainerPort(9090, "http-autometric"),
        ContainerPort(9091, "http-usermetric"),
    ),
)


def _server_container(component: Component, resources: list[Resource]) -> dict:
    if "model" in component.spec:  # the ServingRuntime's container runs the model
        return runtime_of(component.isvc, resources)["spec"]["containers"][0]
    return component.spec["containers"][0]


def served_ports(component: Component, resources: list[Resource]) -> dict[str, int]:
    """Container port of the component's HTTP API ("http") and of its /metrics ("metrics")."""
    container = _server_container(component, resources)
    if "model" in component.spec:  # the InferenceService's model env overrides the runtime's
        http, metrics = (
            int(env_value(component.spec["model"], name) or env_value(container, name) or default)
            for name, default in MLSERVER_DEFAULTS.items()
        )
        return {"http": http, "metrics": metrics}
    http = int(arg_value(container.get("args") or [], "--http_port") or KSERVE_HTTP_PORT)
    return {"http": http, "metrics": http}


def component_pod(
    component: Component, resources: list[Resource], name: str, ip: str
) -> Pod:
    """The pod `name` (address `ip`) running `component`."""
    isvc = component.isvc
    role = component.role.split(":")[0]
    container = _server_container(component, resources)
    server = Container(
        "kserve-container",
        tuple(
            ContainerPort(port["containerPort"], port.get("name", ""), port.get("protocol", "TCP"))
            for port in container.get("ports") or []
        ),
    )
    containers = (server, QUEUE_PROXY) if deployment_mode(isvc) == "Knative" else (server,)
    labels = {
        **(component.spec.get("labels") or {}),
        "serving.kserve.io/inferenceservice": isvc["metadata"]["name"],
        "component": "predictor" if role == "canary" else role,
    }
    return Pod(
        namespace=isvc["metadata"]["namespace"],
        name=name,
        ip=ip,
        labels=labels,
        annotations=dict(component.spec.get("annotations") or {}),
        containers=containers,
    )


def deployment_pod(deployment: Resource, name: str, ip: str) -> tuple[Pod, dict[str, int]]:
    """The pod `name` (address `ip`) of a rendered Deployment, and the ports ("http",
    "metrics") its first container serves: a transformer-image worker's --http_port."""
    template = deployment["spec"]["template"]
    containers = tuple(
        Container(
            container["name"],
            tuple(
                ContainerPort(port["containerPort"], port.get("name", ""),
                              port.get("protocol", "TCP"))
                for port in container.get("ports") or []
            ),
        )
        for container in template["spec"]["containers"]
    )
    args = template["spec"]["containers"][0].get("args") or []
    http = int(arg_value(args, "--http_port") or KSERVE_HTTP_PORT)
    pod = Pod(
        namespace=deployment["metadata"]["namespace"],
        name=name,
        ip=ip,
        labels=dict(template["metadata"].get("labels") or {}),
        annotations=dict(template["metadata"].get("annotations") or {}),
        containers=containers,
    )
    return pod, {"http": http, "metrics": http}
