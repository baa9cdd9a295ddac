"""A Prometheus configuration that scrapes servers running on this machine the way the rendered
PodMonitors scrape them in a cluster.

Each local server stands in for the pod of one rendered InferenceService component, or of a
rendered Deployment (kserve_pods); the PodMonitors' jobs (pod_monitor) find it by its labels and
relabel it. Pods get addresses from TEST-NET-1 (192.0.2.0/24, never routed), and a last
relabelling step, the "pod network", turns `<pod ip>:<container port>` into the loopback
address where that port's server really listens. A scrape port the PodMonitor gets wrong
stays unroutable: target down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tests.manifests.rendering import Resource, components, of_kind
from tests.monitoring.kserve_pods import component_pod, deployment_pod, served_ports
from tests.monitoring.pod_monitor import Pod, scrape_jobs


@dataclass(frozen=True)
class LocalServer:
    """A server on this machine standing in for the pod `pod_name` of one component."""

    overlay: str  # the overlay whose rendering holds the workload
    workload: str  # the InferenceService's (or Deployment's) name
    role: str  # "predictor", "transformer", or "deployment" for a Deployment's pod
    pod_name: str
    addresses: dict[str, str]  # "http" / "metrics" -> host:port where the server listens


@dataclass(frozen=True)
class ServedPod:
    pod: Pod
    addresses: dict[int, str]  # container port -> host:port


def served_pods(rendered: dict[str, list[Resource]], servers: list[LocalServer]) -> list[ServedPod]:
    """One pod per local server, labelled as KServe labels the component's pods."""
    pods = []
    for number, server in enumerate(servers, start=1):
        resources = rendered[server.overlay]
        ip = f"192.0.2.{number}"
        kind = "Deployment" if server.role == "deployment" else "InferenceService"
        workload = next(
            item
            for item in of_kind(resources, kind)
            if item["metadata"]["name"] == server.workload
        )
        if kind == "Deployment":
            pod, ports = deployment_pod(workload, server.pod_name, ip)
        else:
            component = next(c for c in components(workload) if c.role == server.role)
            ports = served_ports(component, resources)
            pod = component_pod(component, resources, server.pod_name, ip)
        addresses = {ports[role]: address for role, address in server.addresses.items()}
        pods.append(ServedPod(pod, addresses))
    return pods


def pod_network(pods: list[ServedPod]) -> list[dict[str, Any]]:
    """Relabel rules that route each pod's ports to the local servers."""
    return [
        {
            "source_labels": ["__address__"],
            "regex": re.escape(f"{served.pod.ip}:{port}"),
            "target_label": "__address__",
            "replacement": address,
        }
        for served in pods
        for port, address in served.addresses.items()
    ]


def prometheus_config(
    monitors: list[Resource],
    pods: list[ServedPod],
    *,
    scrape_interval: str | None = None,
    evaluation_interval: str = "15s",
    rule_files: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Every PodMonitor's jobs over `pods`, plus the pod network; `scrape_interval` replaces
    the PodMonitors' own (tests scrape every second to see a short load)."""
    jobs = [job for monitor in monitors for job in scrape_jobs(monitor, [p.pod for p in pods])]
    network = pod_network(pods)
    for job in jobs:
        job["relabel_configs"] = job["relabel_configs"] + network
        if scrape_interval:
            job["scrape_interval"] = job["scrape_timeout"] = scrape_interval
    return {
        "global": {"evaluation_interval": evaluation_interval},
        "rule_files": list(rule_files),
        "scrape_configs": jobs,
    }
