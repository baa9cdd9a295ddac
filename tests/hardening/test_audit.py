"""`pip-audit` on every image's locked requirements, with findings triaged in
audit_allowlist.txt. Runs under `make audit` (ARGOS_AUDIT=1), a CI step of its own: it needs
PyPI's per-release JSON API (pypi.org/pypi/<name>/<version>/json), where the vulnerability data
lives. A dependency that could not be audited is a failure, never a silent pass."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT, VENVS

IMAGE_LOCKS = ["kserve-predictor", "mlserver-predictor", "transformer"]
ALLOWLIST = Path(__file__).with_name("audit_allowlist.txt")
PIP_AUDIT = VENVS / "audit" / "bin" / "pip-audit"

def allowlisted() -> dict[tuple[str, str], str]:
    entries = {}
    for line in ALLOWLIST.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            vulnerability, package, reason = line.split(maxsplit=2)
            entries[(vulnerability, package.lower())] = reason
    return entries


def audit(lock: str) -> dict:
    if not PIP_AUDIT.exists():
        pytest.fail(f"{PIP_AUDIT} is missing: `make audit` installs it")
    result = subprocess.run(
        [str(PIP_AUDIT), "--progress-spinner", "off", "--no-deps", "--disable-pip",
         "--format", "json", "-r", str(REPO_ROOT / "requirements" / f"{lock}.txt")],
        capture_output=True, text=True, timeout=600,
    )
    # Exit 1 means findings (reported in the JSON); anything else without JSON is an error.
    try:
        return json.loads(result.stdout)
    except ValueError:
        pytest.fail(f"pip-audit failed (exit {result.returncode}): {result.stderr[-2000:]}")


@pytest.mark.parametrize("lock", IMAGE_LOCKS)
def test_locked_dependencies_have_no_untriaged_vulnerabilities(lock: str) -> None:
    report = audit(lock)
    dependencies = report["dependencies"]
    skipped = [f"{d['name']}=={d.get('version')}: {d['skip_reason']}"
               for d in dependencies if d.get("skip_reason")]
    assert len(dependencies) > 10
    assert skipped == [], (
        f"{len(skipped)} of {len(dependencies)} dependencies could not be audited "
        "(vulnerability service unreachable?); first: " + "; ".join(skipped[:3])
    )
    triaged = allowlisted()
    findings = {(v["id"], d["name"].lower()): v.get("fix_versions")
                for d in dependencies for v in d.get("vulns", [])}
    untriaged = {key: fixes for key, fixes in findings.items() if key not in triaged}
    print(f"{lock}: {len(dependencies)} audited, {len(findings)} findings")
    assert untriaged == {}


def test_every_allowlist_entry_still_matches_a_finding() -> None:
    findings = set()
    for lock in IMAGE_LOCKS:
        for dependency in audit(lock)["dependencies"]:
            findings |= {(v["id"], dependency["name"].lower()) for v in dependency.get("vulns", [])}
    assert set(allowlisted()) - findings == set()
