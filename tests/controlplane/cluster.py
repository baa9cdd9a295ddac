"""The local control plane of `make controlplane-up` (scripts/controlplane.sh), driven the way a
user drives a cluster: the real kubectl against the real API server, and `make` for the rollout
commands. Each test session starts its own instance (state in a temp folder) and stops it."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml

from tests.manifests.rendering import OVERLAYS_DIR, REPO_ROOT, Resource

SCRIPT = REPO_ROOT / "scripts" / "controlplane.sh"
NAMESPACE = "kserve-argos"
# Conditions are waited for, never timed: this is only how long a stuck one may take to say so.
WAIT_SECONDS = 300.0
T = TypeVar("T")


class ControlPlaneError(RuntimeError):
    """scripts/controlplane.sh could not start or stop the control plane."""


def missing_reason() -> str | None:
    """Why the control plane cannot run here, or None."""
    for tool in ("kubectl", "openssl", "go", "python3", "curl"):
        if shutil.which(tool) is None:
            return f"{tool} is not on PATH (the local control plane needs it)"
    result = subprocess.run(
        [str(SCRIPT), "built"], capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        return result.stderr.strip() or "the control plane binaries are not built"
    return None


@dataclass
class KubectlFailed(AssertionError):
    command: list[str]
    returncode: int
    output: str

    def __str__(self) -> str:
        return f"`{' '.join(self.command)}` exited {self.returncode}:\n{self.output}"


@dataclass
class ControlPlane:
    state_dir: Path
    applied: list[str] = field(default_factory=list)
    rendered: dict[str, list[Resource]] = field(default_factory=dict)

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig)}

    def _script(self, command: str, timeout: float) -> str:
        result = subprocess.run(
            [str(SCRIPT), command],
            env={**os.environ, "CONTROLPLANE_DIR": str(self.state_dir)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if result.returncode != 0:
            raise ControlPlaneError(
                f"controlplane.sh {command} exited {result.returncode}:\n{result.stderr[-4000:]}"
            )
        return result.stdout

    def up(self) -> None:
        output = self._script("up", timeout=1800)
        assert output.strip().splitlines()[-1] == f"export KUBECONFIG={self.kubeconfig}", output

    def down(self) -> None:
        self._script("down", timeout=300)

    # ------------------------------------------------------------ kubectl and make

    def run(self, command: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            command,
            input=stdin,
            env=self.env,
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        """stdout of `kubectl ARGS`; raises KubectlFailed (with stderr) unless `check` is False,
        in which case stdout and stderr are returned together."""
        command = ["kubectl", "--request-timeout=120s", *args]
        result = self.run(command, stdin)
        if check and result.returncode != 0:
            raise KubectlFailed(command, result.returncode, result.stdout + result.stderr)
        return result.stdout if check else result.stdout + result.stderr

    def refused(self, *args: str, stdin: str | None = None) -> str:
        """The error output of a kubectl command the API server must refuse."""
        command = ["kubectl", "--request-timeout=120s", *args]
        result = self.run(command, stdin)
        assert result.returncode != 0, f"`{' '.join(command)}` was accepted:\n{result.stdout}"
        return result.stderr

    def make(self, *args: str) -> subprocess.CompletedProcess:
        """A make target of the project, the way a user runs it with the control plane up: no
        KUBECONFIG, so mk/deploy.mk asks scripts/controlplane.sh for this instance's kubeconfig
        (CONTROLPLANE_DIR). The outer make's flags and variables (MAKEFLAGS) stay out."""
        outer = {"KUBECONFIG", "MAKEFLAGS", "MAKELEVEL", "MFLAGS"}
        env = {name: value for name, value in os.environ.items() if name not in outer}
        return subprocess.run(
            ["make", "--no-print-directory", *args],
            env={**env, "CONTROLPLANE_DIR": str(self.state_dir)},
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    def deploy(self, overlay: str) -> str:
        """`make deploy OVERLAY=...`: kubectl apply -k of the overlay."""
        self.applied.append(overlay)
        result = self.make("deploy", f"OVERLAY={overlay}")
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def get(self, kind: str, name: str, namespace: str | None = NAMESPACE) -> Resource | None:
        where = ["-n", namespace] if namespace else []
        output = self.kubectl("get", kind, name, *where, "-o", "json", "--ignore-not-found")
        return json.loads(output) if output.strip() else None

    def items(self, kind: str, namespace: str | None = NAMESPACE) -> list[Resource]:
        where = ["-n", namespace] if namespace else []
        return json.loads(self.kubectl("get", kind, *where, "-o", "json"))["items"]

    def set_status(self, kind: str, name: str, status: dict[str, Any], namespace: str) -> None:
        """Write `status` through the status subresource, as the missing operator would."""
        self.kubectl(
            "patch",
            kind,
            name,
            "-n",
            namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps({"status": status}),
        )

    def wait_for(
        self, description: str, probe: Callable[[], T | None], timeout: float = WAIT_SECONDS
    ) -> T:
        """Poll `probe` until it returns something truthy; fail saying what never happened."""
        deadline, last = time.monotonic() + timeout, None
        while True:
            last = probe()
            if last:
                return last
            if time.monotonic() > deadline:
                raise AssertionError(f"never happened within {timeout:.0f}s: {description}")
            time.sleep(0.5)

    # ------------------------------------------------------------ overlays

    def render(self, overlay: str) -> list[Resource]:
        """The overlay as `kubectl apply -k` sends it (kubectl's own kustomize); a fresh copy."""
        if overlay not in self.rendered:
            output = self.kubectl("kustomize", str(OVERLAYS_DIR / overlay))
            self.rendered[overlay] = [doc for doc in yaml.safe_load_all(output) if doc]
        return copy.deepcopy(self.rendered[overlay])

    def apply(self, overlay: str, *flags: str) -> str:
        """`kubectl apply --server-side -k manifests/overlays/OVERLAY`, as `make deploy` does."""
        if "--dry-run=server" not in flags:
            self.applied.append(overlay)
        return self.kubectl("apply", "--server-side", *flags, "-k", str(OVERLAYS_DIR / overlay))

    def reset(self) -> None:
        """Delete what the applied overlays created (the namespace with all in it, cluster-scoped
        resources) and wait until it is gone: the garbage collector removes what KServe made."""
        for overlay in reversed(self.applied):
            self.kubectl(
                "delete",
                "-k",
                str(OVERLAYS_DIR / overlay),
                "--ignore-not-found",
                "--wait=true",
                "--timeout=300s",
            )
        self.applied.clear()
        self.kubectl("delete", "namespace", NAMESPACE, "--ignore-not-found", "--timeout=300s")
