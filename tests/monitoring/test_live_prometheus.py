"""A real Prometheus scrapes the real servers through the rendered PodMonitors, after a short
load (tests/monitoring/stack.py). Every query of the Grafana dashboard, with its variables as
Grafana fills them, and every alert's measured quantity must return data there, with the labels
the legends and groupings name filled in."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

from tests.manifests.rendering import load_file
from tests.monitoring import dashboard
from tests.monitoring.rules import RULES_SOURCE, alerts, grouping_labels, without_thresholds
from tests.monitoring.stack import SCRAPE_INTERVAL_S, LiveStack
from tests.support.metrics import metric_value

pytestmark = pytest.mark.kafka

DASHBOARD = dashboard.load()
QUERIES = dashboard.queries(DASHBOARD)
ALERT_NAMES = [rule["alert"] for rule in alerts(load_file(RULES_SOURCE))]


def _finite(value: str) -> bool:
    return math.isfinite(float(value))


def _labelled(series: dict[str, Any], labels: set[str]) -> bool:
    return all(series["metric"].get(label) for label in labels)


def _variable_values(live: LiveStack) -> dict[str, str]:
    """Each dashboard variable as Grafana sets it: its current value when Prometheus offers
    it, else the first value offered; plus Grafana's interval variables."""
    values = {}
    for variable in dashboard.variables(DASHBOARD):
        offered = live.prometheus.api(
            f"label/{variable.label}/values", **{"match[]": variable.selector}
        )
        assert offered, f"variable ${variable.name}: {variable.selector} has no {variable.label}"
        values[variable.name] = variable.current if variable.current in offered else offered[0]
    interval = SCRAPE_INTERVAL_S
    rate = dashboard.rate_interval_seconds(SCRAPE_INTERVAL_S, interval)
    values.update({"__interval": f"{interval}s", "__rate_interval": f"{rate:g}s"})
    return values


def test_each_server_is_one_target_labelled_as_in_the_cluster(live: LiveStack) -> None:
    targets = live.prometheus.active_targets()
    by_pod = {target["labels"]["pod"]: target for target in targets}
    assert sorted(by_pod) == sorted(served.pod.name for served in live.pods)
    assert len(targets) == len(live.pods), "a pod is scraped more than once"
    for served in live.pods:
        labels = by_pod[served.pod.name]["labels"]
        pod_labels = served.pod.labels
        assert labels.get("namespace") == served.pod.namespace, labels
        isvc = pod_labels.get("serving.kserve.io/inferenceservice") or pod_labels.get(
            "app.kubernetes.io/instance"
        )
        assert labels.get("isvc") == isvc, labels
        assert labels.get("component") == pod_labels["app.kubernetes.io/component"], labels
        assert labels.get("container") == served.pod.containers[0].name, labels
        assert labels.get("job", "").startswith(f"{served.pod.namespace}/"), labels


@pytest.mark.parametrize("query", QUERIES, ids=[query.name for query in QUERIES])
def test_dashboard_query_shows_data(live: LiveStack, query: dashboard.Query) -> None:
    expr = dashboard.substitute(query.expr, _variable_values(live))
    series = live.prometheus.query_range(
        expr, live.load_started - SCRAPE_INTERVAL_S, time.time(), SCRAPE_INTERVAL_S
    )
    shown = [s for s in series if any(_finite(value) for _, value in s["values"])]
    assert shown, f"{query.panel} ({query.ref_id}) shows no data: {expr}"
    needed = query.legend_labels() | grouping_labels(query.expr)
    assert any(_labelled(s, needed) for s in shown), (
        f"{query.panel} ({query.ref_id}): no series has all of {sorted(needed)}: "
        f"{[s['metric'] for s in shown]}"
    )


def test_variable_query_offers_the_namespace(live: LiveStack) -> None:
    values = _variable_values(live)
    assert values["namespace"] == live.pods[0].pod.namespace


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_alert_watches_live_series(live: LiveStack, rendered: dict, alert: str) -> None:
    """Its expression without thresholds returns the series it compares: the alert can fire on
    this data (its labels and metric names are the servers' own)."""
    rule = next(rule for rule in alerts(rendered["monitoring"]) if rule["alert"] == alert)
    measured = without_thresholds(rule["expr"])
    series = [s for s in live.prometheus.query(measured) if _finite(s["value"][1])]
    assert series, f"{alert} watches nothing: {measured}"
    needed = grouping_labels(rule["expr"])
    assert any(_labelled(s, needed) for s in series), (
        f"{alert}: no series has all of {sorted(needed)}: {[s['metric'] for s in series]}"
    )


def test_rules_load_and_evaluate_without_errors(live: LiveStack, rendered: dict) -> None:
    loaded = {rule["name"]: rule for rule in live.prometheus.rules()}
    assert set(loaded) == {rule["alert"] for rule in alerts(rendered["monitoring"])}
    failing = {name: rule["lastError"] for name, rule in loaded.items() if rule["health"] != "ok"}
    assert not failing, failing


def test_servers_count_what_the_load_did(live: LiveStack) -> None:
    """What the error-ratio alert and panel read: every front end counts its answers by status;
    and Kafka ingestion dead-lettered exactly the bad records."""
    statuses = live.traffic.statuses
    transformer = live.metrics(f"{live.transformer_url}/metrics")
    predictor = live.metrics(f"{live.predictor_url}/metrics")
    mlserver = live.metrics(live.mlserver_metrics_url)
    requests = "argos_http_requests_total"
    assert metric_value(transformer, requests, method="POST", code="503") == live.early_503
    assert metric_value(transformer, requests, method="POST", code="400") == statuses[
        ("transformer", 400)
    ]
    assert metric_value(predictor, requests, method="POST", code="400") == (
        statuses[("predictor-v1", 400)] + statuses[("predictor-v2", 400)]
    )
    assert metric_value(predictor, requests, method="POST", code="200") >= statuses[
        ("predictor-v1", 200)
    ]
    assert metric_value(
        mlserver, "rest_server_requests_total", method="POST", status_code="400"
    ) == statuses[("mlserver", 400)]
    assert all(status in (200, 400) for _, status in statuses), statuses
    kafka = live.metrics(f"{live.kafka_transformer_url}/metrics")
    assert metric_value(kafka, "argos_kafka_records_dead_lettered_total") == live.traffic.kafka_bad
