"""The alerting rules as Prometheus and promtool read them, taken from the rendered
PrometheusRule (never a second copy), and the parts of an alert expression tests look at."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from tests.manifests.rendering import MANIFESTS, Resource, of_kind

RULES_SOURCE = MANIFESTS / "monitoring" / "prometheusrules.yaml"
RULES_FILE_NAME = "kserve-argos-alerts.yaml"
# A comparison with a number: `> 0.05`, `== 0`. Label matchers compare with quoted strings.
THRESHOLD = re.compile(r"\s*(==|!=|>=|<=|>|<)\s*(bool\s+)?-?[0-9][0-9.e+-]*")
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


def rule_groups(resources: list[Resource]) -> dict[str, Any]:
    """`groups:` of every PrometheusRule in `resources`, as one rules file."""
    rules = of_kind(resources, "PrometheusRule")
    return {"groups": [group for rule in rules for group in rule["spec"]["groups"]]}


def write_rules_file(resources: list[Resource], folder: Path) -> Path:
    path = folder / RULES_FILE_NAME
    path.write_text(yaml.safe_dump(rule_groups(resources), sort_keys=False))
    return path


def alerts(resources: list[Resource]) -> list[dict[str, Any]]:
    return [
        rule
        for group in rule_groups(resources)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def without_thresholds(expression: str) -> str:
    """The measured quantity of an alert: its expression with each `<op> <number>` removed.
    On live data it returns every series the alert watches, whether over threshold or not."""
    return THRESHOLD.sub("", expression)


def grouping_labels(expression: str) -> set[str]:
    """Labels of the `by (...)` clauses, except the histogram bucket bound `le`."""
    labels = {
        label.strip()
        for clause in GROUPING.findall(expression)
        for label in clause.split(",")
        if label.strip()
    }
    return labels - {"le"}
