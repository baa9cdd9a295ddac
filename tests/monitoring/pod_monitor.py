"""PodMonitors (Prometheus Operator) -> Prometheus scrape configs, over pods given as data.

In a cluster the operator writes one scrape job per PodMonitor endpoint with Kubernetes pod
discovery, and discovery makes one target per declared container port (one per container
without ports) carrying `__meta_kubernetes_*` labels. Here the same jobs list those targets as
`static_configs` with the same meta labels, so the operator's relabelling and the PodMonitor's
own rules run unchanged in a real Prometheus and produce the labels the dashboard and alerts
use (namespace, pod, container, job, isvc, component).

The operator side follows prometheus-operator's generatePodMonitorConfig (pkg/prometheus/
promcfg.go): job `podMonitor/<ns>/<name>/<i>`, the running-pod filter, selector keeps, the port
keep, namespace/container/pod/job/endpoint labels, then the endpoint's relabelings; its
metricRelabelings become metric_relabel_configs. Left out: sharding (one shard keeps every
target), scrape classes, podTargetLabels of the Prometheus resource, auth and TLS settings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Resource = dict[str, Any]

# CRD RelabelConfig field -> Prometheus relabel_config key, in the operator's output order.
RELABEL_FIELDS = (
    ("sourceLabels", "source_labels"),
    ("separator", "separator"),
    ("targetLabel", "target_label"),
    ("regex", "regex"),
    ("modulus", "modulus"),
    ("replacement", "replacement"),
    ("action", "action"),
)
ENDPOINT_FIELDS = (
    ("interval", "scrape_interval"),
    ("scrapeTimeout", "scrape_timeout"),
    ("path", "metrics_path"),
    ("params", "params"),
    ("scheme", "scheme"),
)


@dataclass(frozen=True)
class ContainerPort:
    number: int
    name: str = ""
    protocol: str = "TCP"


@dataclass(frozen=True)
class Container:
    name: str
    ports: tuple[ContainerPort, ...] = ()


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    ip: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    containers: tuple[Container, ...] = ()


def sanitize(name: str) -> str:
    """A Kubernetes label name as Prometheus meta label suffix (what discovery does)."""
    return re.sub(r"[^a-zA-Z0-9_]", "_", name)


def discovered_targets(pod: Pod) -> list[dict[str, Any]]:
    """The targets Kubernetes pod discovery makes of `pod`, as static_configs entries."""
    common = {
        "__meta_kubernetes_namespace": pod.namespace,
        "__meta_kubernetes_pod_name": pod.name,
        "__meta_kubernetes_pod_ip": pod.ip,
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_ready": "true",
    }
    for prefix, values in (("label", pod.labels), ("annotation", pod.annotations)):
        for name, value in values.items():
            common[f"__meta_kubernetes_pod_{prefix}_{sanitize(name)}"] = value
            common[f"__meta_kubernetes_pod_{prefix}present_{sanitize(name)}"] = "true"
    targets = []
    for container in pod.containers:
        labels = {
            **common,
            "__meta_kubernetes_pod_container_name": container.name,
            "__meta_kubernetes_pod_container_init": "false",
        }
        if not container.ports:
            targets.append({"targets": [pod.ip], "labels": labels})
        for port in container.ports:
            targets.append(
                {
                    "targets": [f"{pod.ip}:{port.number}"],
                    "labels": {
                        **labels,
                        "__meta_kubernetes_pod_container_port_name": port.name,
                        "__meta_kubernetes_pod_container_port_number": str(port.number),
                        "__meta_kubernetes_pod_container_port_protocol": port.protocol,
                    },
                }
            )
    return targets


def relabel_config(rule: dict[str, Any]) -> dict[str, Any]:
    """One CRD RelabelConfig as a Prometheus relabel_config."""
    config = {key: rule[field_] for field_, key in RELABEL_FIELDS if field_ in rule}
    if "action" in config:
        config["action"] = config["action"].lower()
    return config


def _selector_rules(selector: dict[str, Any]) -> list[dict[str, Any]]:
    rules = []
    for key in sorted(selector.get("matchLabels") or {}):
        value = selector["matchLabels"][key]
        rules.append(_label_rule("keep", key, f"({value});true"))
    for expression in selector.get("matchExpressions") or []:
        key, operator = expression["key"], expression["operator"]
        values = "|".join(expression.get("values") or [])
        if operator in ("In", "NotIn"):
            action = "keep" if operator == "In" else "drop"
            rules.append(_label_rule(action, key, f"({values});true"))
        elif operator in ("Exists", "DoesNotExist"):
            action = "keep" if operator == "Exists" else "drop"
            name = f"__meta_kubernetes_pod_labelpresent_{sanitize(key)}"
            rules.append({"action": action, "source_labels": [name], "regex": "true"})
        else:
            raise ValueError(f"unknown selector operator {operator!r}")
    return rules


def _label_rule(action: str, key: str, regex: str) -> dict[str, Any]:
    name = sanitize(key)
    return {
        "action": action,
        "source_labels": [
            f"__meta_kubernetes_pod_label_{name}",
            f"__meta_kubernetes_pod_labelpresent_{name}",
        ],
        "regex": regex,
    }


def _port_rules(endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    if endpoint.get("port"):
        return [
            {
                "action": "keep",
                "source_labels": ["__meta_kubernetes_pod_container_port_name"],
                "regex": endpoint["port"],
            }
        ]
    if endpoint.get("portNumber"):
        return [
            {
                "action": "keep",
                "source_labels": ["__meta_kubernetes_pod_container_port_number"],
                "regex": str(endpoint["portNumber"]),
            }
        ]
    return []


def _namespaces(monitor: Resource) -> set[str] | None:
    """Namespaces whose pods the monitor's discovery sees (None: all)."""
    selector = monitor["spec"].get("namespaceSelector") or {}
    if selector.get("any"):
        return None
    return set(selector.get("matchNames") or [monitor["metadata"]["namespace"]])


def _copy(source: str, target: str, **extra: str) -> dict[str, Any]:
    return {"source_labels": [source], "target_label": target, **extra}


def _operator_rules(monitor: Resource, endpoint: dict[str, Any]) -> list[dict[str, Any]]:
    """What the operator puts before the endpoint's own relabelings."""
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    spec = monitor["spec"]
    rules = [_copy("job", "__tmp_prometheus_job_name")]
    if endpoint.get("filterRunning", True):
        rules.append(
            {
                "action": "drop",
                "source_labels": ["__meta_kubernetes_pod_phase"],
                "regex": "(Failed|Succeeded)",
            }
        )
    rules += _selector_rules(spec.get("selector") or {})
    rules += _port_rules(endpoint)
    rules += [
        _copy("__meta_kubernetes_namespace", "namespace"),
        _copy("__meta_kubernetes_pod_container_name", "container"),
        _copy("__meta_kubernetes_pod_name", "pod"),
    ]
    rules += [
        _copy(f"__meta_kubernetes_pod_label_{sanitize(label)}", sanitize(label),
              regex="(.+)", replacement="${1}")
        for label in spec.get("podTargetLabels") or []
    ]
    rules.append({"target_label": "job", "replacement": f"{namespace}/{name}"})
    if spec.get("jobLabel"):
        rules.append(
            _copy(f"__meta_kubernetes_pod_label_{sanitize(spec['jobLabel'])}", "job",
                  regex="(.+)", replacement="${1}")
        )
    if endpoint.get("port"):
        rules.append({"target_label": "endpoint", "replacement": endpoint["port"]})
    return rules


def scrape_jobs(monitor: Resource, pods: list[Pod]) -> list[dict[str, Any]]:
    """The scrape jobs the operator writes for `monitor`, targets from `pods`."""
    namespace, name = monitor["metadata"]["namespace"], monitor["metadata"]["name"]
    visible = _namespaces(monitor)
    targets = [
        target
        for pod in pods
        if visible is None or pod.namespace in visible
        for target in discovered_targets(pod)
    ]
    jobs = []
    for index, endpoint in enumerate(monitor["spec"]["podMetricsEndpoints"]):
        job: dict[str, Any] = {
            "job_name": f"podMonitor/{namespace}/{name}/{index}",
            "honor_labels": bool(endpoint.get("honorLabels", False)),
            "static_configs": targets,
        }
        job.update({key: endpoint[field_] for field_, key in ENDPOINT_FIELDS if field_ in endpoint})
        job["relabel_configs"] = _operator_rules(monitor, endpoint) + [
            relabel_config(rule) for rule in endpoint.get("relabelings") or []
        ]
        if endpoint.get("metricRelabelings"):
            job["metric_relabel_configs"] = [
                relabel_config(rule) for rule in endpoint["metricRelabelings"]
            ]
        jobs.append(job)
    return jobs
