"""A real Prometheus for tests, started with the same tooling as `make prometheus-up`
(scripts/prometheus.sh run, binaries from `make prometheus`), and its HTTP API."""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import yaml

from tests.support.processes import REPO_ROOT, ServerProcess, free_port

RFC3339 = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$")
PROMETHEUS_SCRIPT = REPO_ROOT / "scripts" / "prometheus.sh"
PROMETHEUS_HOME = Path(os.environ.get("PROMETHEUS_HOME", REPO_ROOT / ".tools" / "prometheus"))


def prometheus_missing_reason() -> str | None:
    for binary in ("prometheus", "promtool"):
        if not (PROMETHEUS_HOME / "bin" / binary).is_file():
            return f"no {binary} in {PROMETHEUS_HOME / 'bin'}: run `make prometheus`"
    return None


def promtool(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(PROMETHEUS_SCRIPT), "promtool", *args],
        env={**os.environ, "PROMETHEUS_HOME": str(PROMETHEUS_HOME)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


class PrometheusError(RuntimeError):
    """The API answered with an error (bad query, unknown endpoint)."""


@dataclass
class Prometheus:
    """One Prometheus process on a free loopback port, configured by `config` (a dict)."""

    config: dict[str, Any]
    work_dir: Path
    port: int = field(default_factory=free_port)
    server: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> Prometheus:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        config_path = self.work_dir / "prometheus.yml"
        config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        self.server = ServerProcess(
            [str(PROMETHEUS_SCRIPT), "run"],
            self.work_dir / "prometheus.log",
            env={
                "PROMETHEUS_HOME": str(PROMETHEUS_HOME),
                "PROMETHEUS_CONFIG": str(config_path),
                "PROMETHEUS_PORT": str(self.port),
                "PROMETHEUS_DATA_DIR": str(self.work_dir / "data"),
            },
        ).start()
        self.server.wait_http_ok(f"{self.url}/-/ready", timeout)
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def api(self, path: str, **params: Any) -> Any:
        """GET /api/v1/<path>; the `data` of a successful answer."""
        response = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=30)
        body = response.json()
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query at the server's now: [{"metric": {...}, "value": [t, "v"]}, ...]."""
        return self.api("query", query=expr)["result"]

    def query_range(
        self, expr: str, start: float, end: float, step: float
    ) -> list[dict[str, Any]]:
        """[{"metric": {...}, "values": [[t, "v"], ...]}, ...]."""
        return self.api("query_range", query=expr, start=start, end=end, step=step)["result"]

    def active_targets(self) -> list[dict[str, Any]]:
        return self.api("targets", state="active")["activeTargets"]

    def dropped_targets(self) -> list[dict[str, Any]]:
        return self.api("targets", state="dropped")["droppedTargets"]

    def rules(self) -> list[dict[str, Any]]:
        return [rule for group in self.api("rules")["groups"] for rule in group["rules"]]


def timestamp(rfc3339: str) -> float:
    """Seconds since the epoch of an API timestamp (Go's RFC 3339 with up to 9 fraction digits)."""
    match = RFC3339.match(rfc3339)
    if not match:
        raise ValueError(f"not an RFC 3339 time: {rfc3339!r}")
    whole, fraction, zone = match.groups()
    seconds = datetime.fromisoformat(whole + ("+00:00" if zone == "Z" else zone)).timestamp()
    return seconds + float("0" + (fraction or ""))
