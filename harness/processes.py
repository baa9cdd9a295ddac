"""Start real server processes on free loopback ports and wait until they answer."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parents[1]
VENVS = Path(os.environ.get("VENVS", REPO_ROOT / ".venvs"))


def venv_python(name: str) -> Path:
    """The interpreter of one image environment (.venvs/<name>), built by `make venvs`."""
    python = VENVS / name / "bin" / "python"
    if not python.exists():
        raise RuntimeError(f"{python} is missing: run `make venvs` first")
    return python


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class ServerProcess:
    """A server started as a child process; its output is captured in a log file."""

    command: Sequence[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = REPO_ROOT
    process: subprocess.Popen | None = None

    def start(self) -> ServerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process for its lifetime
        self.process = subprocess.Popen(
            list(self.command),
            cwd=self.cwd,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_until(self, check: Callable[[], bool], timeout: float = 120.0) -> None:
        """Poll `check` until it is true; fail with the process log if it exits or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"{self.command[0]} exited early:\n{self.log()[-4000:]}")
            with contextlib.suppress(Exception):
                if check():
                    return
            time.sleep(0.2)
        raise TimeoutError(
            f"{' '.join(self.command)} not ready in {timeout}s:\n{self.log()[-4000:]}"
        )

    def wait_http_ok(self, url: str, timeout: float = 120.0) -> None:
        self.wait_until(lambda: httpx.get(url, timeout=2.0).status_code == 200, timeout)

    def signal(self, sig: int) -> None:
        if self.alive():
            os.killpg(self.process.pid, sig)

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.process is None:
            return None
        if self.alive():
            self.signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.process.wait(10)
        return self.process.returncode


@dataclass
class RunningServer:
    """A started server process and the loopback ports it answers on."""

    server: ServerProcess
    http_port: int
    grpc_port: int

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def stop(self) -> int | None:
        return self.server.stop()


@contextlib.contextmanager
def running(
    server: ServerProcess, ready: Callable[[ServerProcess], None]
) -> Iterator[ServerProcess]:
    server.start()
    try:
        ready(server)
        yield server
    finally:
        server.stop()


def python_command(venv: str, *args: str) -> list[str]:
    return [str(venv_python(venv)), *args]


def this_python() -> str:
    return sys.executable
