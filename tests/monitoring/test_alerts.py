"""The alerting rules, as rendered from the PrometheusRule, pass `promtool check rules` and the
unit tests of alerts_test.yaml (`promtool test rules`), and those tests cover every alert both
ways: firing on the series that should fire it, quiet on others and before `for:` has passed."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from tests.monitoring.rules import alerts, write_rules_file
from tests.support.processes import REPO_ROOT
from tests.support.prometheus import promtool

UNIT_TESTS = Path(__file__).with_name("alerts_test.yaml")
DOCS = REPO_ROOT / "docs" / "monitoring.md"
SEVERITIES = {"critical", "warning"}


def _unit_tests() -> dict:
    return yaml.safe_load(UNIT_TESTS.read_text())


def test_rules_pass_promtool_unit_tests(
    prometheus_installed: None, rendered: dict, tmp_path: Path
) -> None:
    rules = write_rules_file(rendered["monitoring"], tmp_path)
    assert _unit_tests()["rule_files"] == [rules.name]
    shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
    checked = promtool("check", "rules", str(rules))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = promtool("test", "rules", UNIT_TESTS.name, cwd=tmp_path)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_every_alert_is_tested_firing_and_quiet(rendered: dict) -> None:
    names = {rule["alert"] for rule in alerts(rendered["monitoring"])}
    firing: dict[str, list[tuple[set[str], set[str]]]] = {name: [] for name in names}
    quiet: set[str] = set()
    for group in _unit_tests()["tests"]:
        series_isvcs = {
            label.split('"')[1]
            for item in group["input_series"]
            for label in item["series"].split(",")
            if label.strip().startswith("isvc=")
        }
        for case in group.get("alert_rule_test", []):
            name = case["alertname"]
            assert name in names, f"alerts_test.yaml tests {name}, which no rule defines"
            fired = {alert["exp_labels"].get("isvc") for alert in case["exp_alerts"]}
            if fired:
                firing[name].append((fired, series_isvcs))
            else:
                quiet.add(name)
    for name in sorted(names):
        assert firing[name], f"no test where {name} fires"
        assert any(others - fired for fired, others in firing[name]), (
            f"{name}: every InferenceService in its test fires; none shows it stays quiet"
        )
        assert name in quiet, f"{name}: no test shows it quiet before its `for:` has passed"


def test_every_alert_says_how_bad_what_and_where_to_read_on(rendered: dict) -> None:
    docs = DOCS.read_text()
    for rule in alerts(rendered["monitoring"]):
        name = rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, name
        assert rule.get("for"), f"{name} fires on a single evaluation"
        assert rule["annotations"]["summary"].strip(), name
        assert "docs/monitoring.md#alerts" in rule["annotations"]["description"], name
        assert f"`{name}`" in docs, f"{name} is not described in {DOCS.name}"
