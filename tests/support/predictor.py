"""Start the real KServe predictor (`python -m argos_kserve`) from its image environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import ServerProcess, free_port, python_command


@dataclass
class RunningPredictor:
    server: ServerProcess
    http_port: int
    grpc_port: int
    model_name: str = "translator"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def stop(self) -> int | None:
        return self.server.stop()


def start_kserve_predictor(
    log_dir: Path, *args: str, model_name: str = "translator", timeout: float = 120.0
) -> RunningPredictor:
    """Start the predictor on free loopback ports and wait until the model is ready."""
    http_port, grpc_port = free_port(), free_port()
    command = python_command(
        "kserve",
        "-m",
        "argos_kserve",
        "--model_name",
        model_name,
        "--http_port",
        str(http_port),
        "--grpc_port",
        str(grpc_port),
        *args,
    )
    server = ServerProcess(command, log_dir / f"kserve-predictor-{http_port}.log").start()
    predictor = RunningPredictor(server, http_port, grpc_port, model_name)
    try:
        server.wait_http_ok(f"{predictor.base_url}/v2/models/{model_name}/ready", timeout)
    except Exception:
        server.stop()
        raise
    return predictor
