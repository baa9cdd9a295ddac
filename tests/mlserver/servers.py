"""Start the real `mlserver start` from the MLServer image environment (.venvs/mlserver)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import REPO_ROOT, RunningServer, ServerProcess, free_port, venv_python

SHIPPED_SETTINGS = REPO_ROOT / "predictors" / "argos_mlserver" / "settings"
RUNTIME_CLASS = "argos_mlserver.runtime.ArgosTranslateRuntime"


@dataclass
class RunningMLServer(RunningServer):
    metrics_port: int = 0
    model_name: str = "translator"

    @property
    def http_target(self) -> str:
        """host:port, as tritonclient.http wants it."""
        return f"127.0.0.1:{self.http_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def infer_url(self) -> str:
        return f"{self.base_url}/v2/models/{self.model_name}/infer"


def mlserver_command(folder: Path) -> list[str]:
    """`mlserver start <folder>` with the image environment's own `mlserver` script."""
    return [str(venv_python("mlserver").parent / "mlserver"), "start", str(folder)]


def mlserver_env(
    work_dir: Path,
    http_port: int,
    grpc_port: int,
    metrics_port: int,
    *,
    model_uri: Path | None = None,
    extra: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """MLServer's own environment variables: loopback, free ports, scratch dirs, model params."""
    values = {
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(http_port),
        "MLSERVER_GRPC_PORT": str(grpc_port),
        "MLSERVER_METRICS_PORT": str(metrics_port),
        # Parallel workers write here; keep it out of the repository.
        "MLSERVER_METRICS_DIR": str(work_dir / "metrics"),
        "MLSERVER_ENVIRONMENTS_DIR": str(work_dir / "envs"),
    }
    if model_uri is not None:
        values["MLSERVER_MODEL_URI"] = str(model_uri)
    if extra:
        values["MLSERVER_MODEL_EXTRA"] = json.dumps(dict(extra))
    values.update(env or {})
    return values


def launch_mlserver(
    work_dir: Path,
    folder: Path = SHIPPED_SETTINGS,
    *,
    model_uri: Path | None = None,
    extra: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    model_name: str = "translator",
) -> RunningMLServer:
    """Start `mlserver start <folder>` on free loopback ports without waiting for it."""
    work_dir.mkdir(parents=True, exist_ok=True)
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    server = ServerProcess(
        mlserver_command(folder),
        work_dir / f"mlserver-{http_port}.log",
        env=mlserver_env(
            work_dir, http_port, grpc_port, metrics_port, model_uri=model_uri, extra=extra, env=env
        ),
        cwd=work_dir,
    )
    server.start()
    return RunningMLServer(server, http_port, grpc_port, metrics_port, model_name)


def start_mlserver(
    work_dir: Path, *args: Any, timeout: float = 120.0, **kwargs: Any
) -> RunningMLServer:
    """Start MLServer and wait until the model (not just the server) is ready."""
    running = launch_mlserver(work_dir, *args, **kwargs)
    try:
        running.server.wait_http_ok(
            f"{running.base_url}/v2/models/{running.model_name}/ready", timeout
        )
    except Exception:
        running.stop()
        raise
    return running


def kserve_style_env(model_name: str = "translator") -> dict[str, str]:
    """What a KServe ServingRuntime for this image sets: the model described by environment only.

    MLSERVER_PARALLEL_WORKERS=0 as the image must set it: MLServer's default of one inference
    worker process crashes with uvloop >= 0.22 (SeldonIO/MLServer#2286), and one process keeps
    every request on the core's one batcher.
    """
    return {
        "MLSERVER_MODEL_IMPLEMENTATION": RUNTIME_CLASS,
        "MLSERVER_MODEL_NAME": model_name,
        "MLSERVER_PARALLEL_WORKERS": "0",
    }
