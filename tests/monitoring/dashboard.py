"""The Grafana dashboard as Grafana runs it: its panels' queries, its template variables, and
Grafana's substitution of both into PromQL."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tests.manifests.rendering import MANIFESTS

DASHBOARD = MANIFESTS / "monitoring" / "dashboards" / "kserve-argos.json"
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*([^,]+?)\s*,\s*([a-zA-Z_]\w*)\s*\)\s*$")
LEGEND_LABELS = re.compile(r"\{\{\s*([a-zA-Z_]\w*)\s*\}\}")


@dataclass(frozen=True)
class Query:
    panel_id: int
    panel: str
    ref_id: str
    expr: str
    legend: str

    @property
    def name(self) -> str:
        return f"panel{self.panel_id}-{self.ref_id}"

    def legend_labels(self) -> set[str]:
        return set(LEGEND_LABELS.findall(self.legend))


@dataclass(frozen=True)
class Variable:
    """A query variable whose values come from `label_values(<selector>, <label>)`."""

    name: str
    selector: str
    label: str
    current: str | None


def load() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, including those nested in collapsed rows."""
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found += panel.get("panels") or []
    return found


def queries(dashboard: dict[str, Any]) -> list[Query]:
    return [
        Query(panel["id"], panel["title"], target["refId"], target["expr"],
              target.get("legendFormat", ""))
        for panel in panels(dashboard)
        for target in panel.get("targets") or []
    ]


def variables(dashboard: dict[str, Any]) -> list[Variable]:
    """The query variables (the data-source variable needs no value in PromQL)."""
    found = []
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable["type"] == "datasource":
            continue
        if variable["type"] != "query":
            raise ValueError(f"variable {variable['name']}: type {variable['type']} not handled")
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = LABEL_VALUES.match(text)
        if not match:
            raise ValueError(f"variable {variable['name']}: {text!r} is not label_values(m, l)")
        current = (variable.get("current") or {}).get("value")
        found.append(Variable(variable["name"], match.group(1), match.group(2), current))
    return found


def rate_interval_seconds(scrape_interval_s: float, interval_s: float) -> float:
    """Grafana's $__rate_interval: max($__interval + scrape interval, 4 x scrape interval),
    the scrape interval being the one configured on the data source."""
    return max(interval_s + scrape_interval_s, 4 * scrape_interval_s)


def substitute(expr: str, values: dict[str, str]) -> str:
    """Grafana's variable syntaxes ($name, ${name}, [[name]]) replaced by `values`."""

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]

    return re.sub(r"\$\{(\w+)\}|\[\[(\w+)\]\]|\$(\w+)", value, expr)
