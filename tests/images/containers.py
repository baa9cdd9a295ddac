"""Run the built images as containers, the way the manifests run them: read-only root file
system, the image's own non-root user, /tmp as a tmpfs (the pod's emptyDir), no capabilities,
no privilege escalation; on the host network (the engine has no bridge) with free loopback ports.

The engine and the docker CLI come from scripts/container-engine.sh, the script `make images`
uses. A container runs attached (`docker run --rm`), so it is a ServerProcess: its output goes
to the log file, and it is alive while the container runs. Its SIGTERM is `docker stop`.
"""

from __future__ import annotations

import signal
import subprocess
import tomllib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.support.processes import REPO_ROOT, RunningServer, ServerProcess

ENGINE_SCRIPT = REPO_ROOT / "scripts" / "container-engine.sh"
IMAGE_PREFIX = "kserve-argos"
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
# Containers of one test session carry this label with the session's id: `make images-prune`
# and the session's own clean-up find them by it.
TEST_LABEL = "org.kserve-argos.test"
SESSION = uuid.uuid4().hex[:12]
# What `docker stop` gives a container before SIGKILL: KServe's own drain limit is 30 s.
STOP_GRACE_S = 30


def image_reference(image: str) -> str:
    """The tag `make images` gives an image, the one the manifests reference."""
    return f"{IMAGE_PREFIX}/{image}:{VERSION}"


def docker_cli() -> str | None:
    """The docker CLI of scripts/container-engine.sh, if an engine answers through it."""
    found = subprocess.run(
        [str(ENGINE_SCRIPT), "cli"], capture_output=True, text=True, timeout=60, check=False
    )
    cli = found.stdout.strip()
    if found.returncode != 0 or not cli:
        return None
    info = subprocess.run([cli, "info"], capture_output=True, timeout=60, check=False)
    return cli if info.returncode == 0 else None


def docker(cli: str, *args: str, timeout: float = 120) -> str:
    """Run one docker command; its stdout, or an error with its stderr."""
    result = subprocess.run(
        [cli, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def has_image(cli: str, reference: str) -> bool:
    result = subprocess.run(
        [cli, "image", "inspect", reference], capture_output=True, timeout=60, check=False
    )
    return result.returncode == 0


@dataclass
class Container(ServerProcess):
    """`docker run` of one image, attached; stopped with `docker stop`, always removed."""

    cli: str = "docker"
    name: str = ""

    def exec(self, *command: str) -> subprocess.CompletedProcess:
        """A command inside the running container, as its user."""
        return subprocess.run(
            [self.cli, "exec", self.name, *command],
            capture_output=True, text=True, timeout=60, check=False,
        )

    def signal(self, sig: int) -> None:
        """SIGTERM is `docker stop` (the engine's stop signal, then SIGKILL after the grace
        period), started without waiting; other signals go through `docker kill`."""
        if not self.alive():
            return
        if sig == signal.SIGTERM:
            subprocess.Popen(
                [self.cli, "stop", "--time", str(STOP_GRACE_S), self.name],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )
        else:
            subprocess.run(
                [self.cli, "kill", "--signal", str(int(sig)), self.name],
                capture_output=True, timeout=60, check=False,
            )

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.process is None:
            return None
        if self.alive():
            subprocess.run(
                [self.cli, "stop", "--time", str(int(timeout)), self.name],
                capture_output=True, timeout=timeout + 60, check=False,
            )
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        remove(self.cli, self.name)
        return self.process.returncode


def remove(cli: str, *names: str) -> None:
    if names:
        subprocess.run(
            [cli, "rm", "--force", *names], capture_output=True, timeout=120, check=False
        )


def run_container(
    cli: str,
    image: str,
    log_dir: Path,
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    mounts: Mapping[Path, str] | None = None,
) -> Container:
    """Start `image` (a name under Dockerfiles/) with `args` after its entrypoint (none: its
    CMD); `mounts` are host folders mounted read-only at container paths."""
    name = f"kserve-argos-test-{image}-{uuid.uuid4().hex[:8]}"
    command = [
        cli, "run", "--rm", "--name", name, "--label", f"{TEST_LABEL}={SESSION}",
        "--network", "host", "--read-only", "--tmpfs", "/tmp",
        "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
    ]
    for variable, value in (env or {}).items():
        command += ["--env", f"{variable}={value}"]
    for host_path, container_path in (mounts or {}).items():
        command += ["--volume", f"{host_path}:{container_path}:ro"]
    command += [image_reference(image), *args]
    container = Container(command, log_dir / f"{name}.log", cli=cli, name=name)
    return container.start()


def remove_session_containers(cli: str) -> None:
    """Every container this test session started that is still there."""
    listed = subprocess.run(
        [cli, "ps", "--all", "--quiet", "--filter", f"label={TEST_LABEL}={SESSION}"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    remove(cli, *listed.stdout.split())


@dataclass
class RunningContainer(RunningServer):
    """A started container and the loopback ports it serves on (metrics: MLServer's own)."""

    metrics_port: int = 0

    @property
    def container(self) -> Container:
        assert isinstance(self.server, Container)
        return self.server

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port or self.http_port}/metrics"
