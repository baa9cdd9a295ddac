"""The PodMonitors scrape every server on the port its metrics are served on, every metric the
Grafana dashboard queries is one the servers (project code, KServe, MLServer) define, and every
panel has a unit, the thresholds of the alerts it shows, and a description in the docs.
(tests/monitoring proves the queries against a real Prometheus.)"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from tests.manifests.rendering import REPO_ROOT, components, of_kind
from tests.manifests.schema_checks import Crds, resource_errors
from tests.monitoring import dashboard
from tests.monitoring.kserve_pods import served_ports
from tests.monitoring.rules import THRESHOLD, alerts
from tests.support.processes import VENVS

DASHBOARD = dashboard.DASHBOARD
DOCS = REPO_ROOT / "docs" / "monitoring.md"
METRIC_SOURCES = [
    *sorted((REPO_ROOT / "predictors").rglob("*.py")),
    *sorted((REPO_ROOT / "transformers").rglob("*.py")),
    *sorted((REPO_ROOT / "protocol").rglob("*.py")),
]
LIBRARY_METRIC_FILES = {
    "kserve": ["kserve/metrics.py"],
    "mlserver": ["mlserver/handlers/dataplane.py"],
}
# Names built at run time: starlette_exporter's with MLServer's prefix `rest_server`, and the
# `up` Prometheus writes for every target.
OTHER_SERIES = {
    "rest_server_requests_total",
    "rest_server_request_duration_seconds_bucket",
    "up",
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
    series: set[str] = set(OTHER_SERIES)
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
    return [(query.panel, query.expr) for query in dashboard.queries(dashboard.load())]


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
                port = served_ports(component, resources)["metrics"]
                assert _scrape_port(matching[0]) == port, (
                    f"{overlay} {component.name}: metrics on {port}"
                )
                used.add(matching[0]["metadata"]["name"])
    assert used == {monitor["metadata"]["name"] for monitor in monitors}, (
        "a PodMonitor selects nothing"
    )


# Panel id -> the alert whose threshold its red line shows.
ALERT_PANELS = {
    19: "ArgosServerErrorRatioHigh",
    5: "ArgosPredictLatencyHigh",
    6: "ArgosPredictLatencyHigh",
    11: "ArgosOverloaded",
    15: "ArgosKafkaConsumerLagGrowing",
    16: "ArgosKafkaDeadLetterRatioHigh",
}


def _red_lines(panel: dict) -> set[float]:
    config = panel["fieldConfig"]
    thresholds = [config["defaults"]["thresholds"]] + [
        prop["value"]
        for override in config["overrides"]
        for prop in override["properties"]
        if prop["id"] == "thresholds"
    ]
    return {step["value"] for t in thresholds for step in t["steps"] if step["color"] == "red"}


def test_every_panel_has_a_unit_and_thresholds() -> None:
    for panel in dashboard.panels(dashboard.load()):
        if panel["type"] == "row":
            continue
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults.get("unit"), f"{panel['title']}: no unit"
        assert defaults["thresholds"]["mode"] == "absolute", panel["title"]
        assert defaults["thresholds"]["steps"][0]["value"] is None, panel["title"]
        shown = defaults["custom"]["thresholdsStyle"]["mode"] != "off"
        assert shown == (len(defaults["thresholds"]["steps"]) > 1), (
            f"{panel['title']}: thresholds defined but not drawn, or drawn with none"
        )


def test_alert_thresholds_are_the_panels_red_lines(rendered: dict) -> None:
    rules = {rule["alert"]: rule for rule in alerts(rendered["monitoring"])}
    panels = {panel["id"]: panel for panel in dashboard.panels(dashboard.load())}
    for panel_id, alert in ALERT_PANELS.items():
        limits = {float(match.group(0).split()[-1]) for match in THRESHOLD.finditer(
            rules[alert]["expr"])} - {0.0}
        assert limits & _red_lines(panels[panel_id]), (
            f"{panels[panel_id]['title']}: red line {_red_lines(panels[panel_id])}, "
            f"{alert} fires above {limits}"
        )
        assert alert in panels[panel_id]["description"], panels[panel_id]["title"]


def test_every_panel_is_described_in_the_docs() -> None:
    docs = DOCS.read_text()
    for panel in dashboard.panels(dashboard.load()):
        if panel["type"] != "row":
            assert f"**{panel['title']}**" in docs, f"{panel['title']} not in {DOCS.name}"


def test_prometheus_rule_typos_are_rejected(rendered: dict, crds: Crds) -> None:
    rule = copy.deepcopy(of_kind(rendered["monitoring"], "PrometheusRule")[0])
    rule["spec"]["groups"][0]["rules"][0]["expresion"] = rule["spec"]["groups"][0]["rules"][0].pop(
        "expr"
    )
    rule["spec"]["groups"][0]["rules"][1]["for"] = "ten minutes"
    errors = resource_errors(rule, crds)
    assert any("expresion" in error for error in errors), errors
    assert any("ten minutes" in error for error in errors), errors
