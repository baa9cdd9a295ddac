"""The PodMonitors scrape every server on the port its metrics are served on, and every metric
the Grafana dashboard queries is one the servers (project code, KServe, MLServer) define."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.manifests.rendering import (
    MANIFESTS,
    REPO_ROOT,
    Component,
    components,
    of_kind,
    runtime_of,
)
from tests.manifests.webhook_rules import arg_value, env_value
from tests.support.processes import VENVS

DASHBOARD = MANIFESTS / "monitoring" / "dashboards" / "kserve-argos.json"
METRIC_SOURCES = [
    *sorted((REPO_ROOT / "predictors").rglob("*.py")),
    *sorted((REPO_ROOT / "transformers").rglob("*.py")),
]
LIBRARY_METRIC_FILES = {
    "kserve": ["kserve/metrics.py"],
    "mlserver": ["mlserver/handlers/dataplane.py"],
}
DEFINITION = re.compile(r"\b(Counter|Histogram|Gauge|Summary)\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"")
PROMQL_WORDS = {"and", "or", "unless", "bool", "offset"}


def exposed_names(kind: str, name: str) -> set[str]:
    """Series names prometheus_client exposes for one metric definition."""
    if kind == "Counter":
        return {name.removesuffix("_total") + "_total"}
    if kind in ("Histogram", "Summary"):
        return {name + "_bucket", name + "_sum", name + "_count"}
    return {name}


def library_files() -> list[Path]:
    files = []
    for venv, relatives in LIBRARY_METRIC_FILES.items():
        sites = sorted((VENVS / venv / "lib").glob("python3*/site-packages"))
        if not sites:
            pytest.fail(f"{VENVS / venv} is missing: run `make venvs`")
        files += [sites[0] / relative for relative in relatives]
    return files


def defined_series() -> set[str]:
    series: set[str] = set()
    for path in [*METRIC_SOURCES, *library_files()]:
        for kind, name in DEFINITION.findall(path.read_text()):
            series |= exposed_names(kind, name)
    return series


def promql_metric_names(expression: str) -> set[str]:
    text = re.sub(r'"[^"]*"', "", expression)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", text)
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    names = set()
    for match in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", text):
        following = text[match.end() :].lstrip()[:1]
        if following != "(" and match.group(0) not in PROMQL_WORDS:
            names.add(match.group(0))
    return names


def dashboard_expressions() -> list[tuple[str, str]]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [
        (panel["title"], target["expr"])
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
    ]


def test_promql_name_extraction() -> None:
    expression = (
        'histogram_quantile(0.9, sum by (le, pair) (rate(a_bucket{namespace="x"}[5m]))) / b'
    )
    assert promql_metric_names(expression) == {"a_bucket", "b"}


def test_dashboard_covers_the_issue_and_uses_only_defined_metrics() -> None:
    expressions = dashboard_expressions()
    titles = " ".join(title.lower() for title, _ in expressions)
    for topic in ("per second", "latency", "batch", "lag", "dead-letter"):
        assert topic in titles, f"no panel about {topic}"
    known = defined_series()
    unknown = {
        f"{title}: {name}"
        for title, expression in expressions
        for name in promql_metric_names(expression)
        if name not in known
    }
    assert not unknown, f"metrics nobody defines: {sorted(unknown)}"


def test_dashboard_configmap_is_the_dashboard_file(rendered: dict) -> None:
    config = next(
        item
        for item in of_kind(rendered["monitoring"], "ConfigMap")
        if item["metadata"]["name"] == "kserve-argos-dashboard"
    )
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config["data"]["kserve-argos.json"]) == json.loads(DASHBOARD.read_text())


def _selects(monitor: dict, labels: dict[str, str]) -> bool:
    selector = monitor["spec"]["selector"]
    if any(
        labels.get(name) != value for name, value in (selector.get("matchLabels") or {}).items()
    ):
        return False
    for expression in selector.get("matchExpressions") or []:
        assert expression["operator"] == "In", "only In selectors are checked here"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _scrape_port(monitor: dict) -> int:
    for endpoint in monitor["spec"]["podMetricsEndpoints"]:
        for relabel in endpoint.get("relabelings") or []:
            if relabel.get("targetLabel") == "__address__":
                return int(relabel["replacement"].rsplit(":", 1)[1])
    raise AssertionError(f"{monitor['metadata']['name']} does not set the scrape address")


def metrics_port(component: Component, resources: list[dict]) -> int:
    """Where this component's server answers GET /metrics."""
    if "model" in component.spec:
        runtime = runtime_of(component.isvc, resources)
        return int(env_value(runtime["spec"]["containers"][0], "MLSERVER_METRICS_PORT"))
    container = component.spec["containers"][0]
    return int(arg_value(container.get("args") or [], "--http_port") or 8080)


def test_every_server_is_scraped_on_its_metrics_port(rendered: dict) -> None:
    monitors = of_kind(rendered["monitoring"], "PodMonitor")
    assert monitors
    used = set()
    for overlay, resources in rendered.items():
        for isvc in of_kind(resources, "InferenceService"):
            for component in components(isvc):
                labels = component.spec.get("labels") or {}
                matching = [monitor for monitor in monitors if _selects(monitor, labels)]
                assert len(matching) == 1, (
                    f"{overlay} {component.name}: scraped by {len(matching)} PodMonitors"
                )
                port = metrics_port(component, resources)
                assert _scrape_port(matching[0]) == port, (
                    f"{overlay} {component.name}: metrics on {port}"
                )
                used.add(matching[0]["metadata"]["name"])
    assert used == {monitor["metadata"]["name"] for monitor in monitors}, (
        "a PodMonitor selects nothing"
    )
