"""Start the real KServe predictor (`python -m argos_kserve`) from its image environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import RunningServer, ServerProcess, free_port, python_command


@dataclass
class RunningPredictor(RunningServer):
    model_name: str = "translator"


def kserve_predictor_command(
    http_port: int, grpc_port: int, *args: str, model_name: str = "translator"
) -> list[str]:
    """`python -m argos_kserve` from the KServe image environment, on the given ports."""
    return python_command(
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


def start_kserve_predictor(
    log_dir: Path, *args: str, model_name: str = "translator", timeout: float = 120.0
) -> RunningPredictor:
    """Start the predictor on free loopback ports and wait until the model is ready."""
    http_port, grpc_port = free_port(), free_port()
    command = kserve_predictor_command(http_port, grpc_port, *args, model_name=model_name)
    server = ServerProcess(command, log_dir / f"kserve-predictor-{http_port}.log").start()
    predictor = RunningPredictor(server, http_port, grpc_port, model_name)
    try:
        server.wait_http_ok(f"{predictor.base_url}/v2/models/{model_name}/ready", timeout)
    except Exception:
        server.stop()
        raise
    return predictor
