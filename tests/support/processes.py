"""The process helpers live in `harness.processes` (shared with the benchmarks)."""

from harness.processes import (
    REPO_ROOT,
    VENVS,
    RunningServer,
    ServerProcess,
    free_port,
    python_command,
    running,
    this_python,
    venv_python,
)

__all__ = [
    "REPO_ROOT",
    "VENVS",
    "RunningServer",
    "ServerProcess",
    "free_port",
    "python_command",
    "running",
    "this_python",
    "venv_python",
]
