"""Replay an image's Dockerfile without a container engine, then run its entrypoint.

The builder stage's `pip install` steps become `uv pip install` steps with the same lock files
and flags into a fresh virtualenv (it stands for /opt/venv); the final stage's COPY steps are
carried out into a scratch root directory (standing for `/`); the process starts with exactly
the image's ENV (plus what the test passes, as Kubernetes would), through `env -i`, from the
image's WORKDIR, running ENTRYPOINT + CMD (or the manifest's args). Container paths in the
environment and the arguments are mapped into the scratch root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.manifests.dockerfile_model import (
    REPO_ROOT,
    Dockerfile,
    copy_target,
    pip_installs,
)

VENV_IN_IMAGE = "/opt/venv"
# The PATH of the python base image, which the Dockerfiles extend with ENV PATH=...:$PATH.
BASE_PATH = "/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin"
UV_FLAGS = {
    "--no-deps": ["--no-deps"],
    "--only-binary=:all:": ["--only-binary", ":all:"],
    "--no-cache-dir": [],
}


@dataclass(frozen=True)
class ImageRoot:
    """A replayed image: its Python environment and its file system root."""

    dockerfile: Dockerfile
    root: Path
    venv: Path

    def host_path(self, container_path: str) -> Path:
        if container_path == VENV_IN_IMAGE or container_path.startswith(VENV_IN_IMAGE + "/"):
            return self.venv / container_path[len(VENV_IN_IMAGE) :].lstrip("/")
        return self.root / container_path.lstrip("/")

    def owns(self, container_path: str) -> bool:
        """Whether a path is the image's own (copied, working or mounted), not the base image's."""
        top = "/" + container_path.lstrip("/").split("/", 1)[0]
        owned = {
            VENV_IN_IMAGE,
            "/tmp",
            "/mnt",
            "/" + self.dockerfile.final.workdir.lstrip("/").split("/")[0],
        }
        owned |= {
            "/" + copy.destination.lstrip("/").split("/")[0]
            for copy in self.dockerfile.final.copies()
        }
        return container_path.startswith(VENV_IN_IMAGE) or top in owned

    def map_value(self, value: str) -> str:
        """The image's paths inside a value (colon-separated lists too) mapped into the root;
        the base image's system paths stay as they are (the host provides the same)."""
        parts = value.split(":")
        if all(part.startswith("/") for part in parts if part):
            return ":".join(
                str(self.host_path(part)) if part and self.owns(part) else part for part in parts
            )
        return value

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {}
        for name, value in {**self.dockerfile.final.env(), **(extra or {})}.items():
            env[name] = self.map_value(
                value.replace("$PATH", BASE_PATH).replace("${PATH}", BASE_PATH)
            )
        return env

    def command(
        self, args: Sequence[str] | None = None, extra_env: Mapping[str, str] | None = None
    ) -> list[str]:
        """`env -i <image env> ENTRYPOINT <args or CMD>`, paths mapped into the root."""
        env = self.environment(extra_env)
        entrypoint = self.dockerfile.final.exec_form("ENTRYPOINT")
        arguments = (
            list(self.dockerfile.final.exec_form("CMD") or []) if args is None else list(args)
        )
        program = shutil.which(entrypoint[0], path=env["PATH"])
        if program is None:
            raise FileNotFoundError(f"{entrypoint[0]} is not on the image PATH {env['PATH']}")
        rest = [
            self.map_value(arg) if arg.startswith("/") else arg
            for arg in [*entrypoint[1:], *arguments]
        ]
        return [
            "/usr/bin/env",
            "-i",
            *(f"{name}={value}" for name, value in env.items()),
            program,
            *rest,
        ]

    @property
    def workdir(self) -> Path:
        return self.host_path(self.dockerfile.final.workdir)

    def files_under(self, container_path: str) -> set[Path]:
        base = self.host_path(container_path)
        return {path.relative_to(base) for path in base.rglob("*")}

    def site_packages(self) -> Path:
        return next((self.venv / "lib").glob("python3*/site-packages"))

    def size_bytes(self) -> int:
        """Size of the environment, each file counted once (uv hard-links from its cache)."""
        seen, total = set(), 0
        for directory, _, files in os.walk(self.venv):
            for name in files:
                stat = os.lstat(os.path.join(directory, name))
                if (stat.st_dev, stat.st_ino) not in seen:
                    seen.add((stat.st_dev, stat.st_ino))
                    total += stat.st_size
        return total

    def distributions(self) -> set[str]:
        return {
            path.name.split("-")[0].lower().replace("_", "-")
            for path in self.site_packages().glob("*.dist-info")
        }


def replay(dockerfile: Dockerfile, base: Path, uv: Path, python: str) -> ImageRoot:
    """Build the image's environment and root under `base` from its Dockerfile."""
    image = ImageRoot(dockerfile=dockerfile, root=base / "root", venv=base / "opt-venv")
    builder = dockerfile.stage("builder")
    _run([str(uv), "venv", "--quiet", "--python", python, str(image.venv)])
    for install in pip_installs(builder):
        flags = [uv_flag for flag in install.flags for uv_flag in UV_FLAGS[flag]]
        for container_path in install.requirement_files:
            lock = dockerfile.context_path_of(builder, container_path)
            _run(
                [
                    str(uv),
                    "pip",
                    "install",
                    "--quiet",
                    "--python",
                    str(image.venv / "bin" / "python"),
                    *flags,
                    "-r",
                    str(lock),
                ]
            )
    for copy in dockerfile.final.copies():
        if copy.from_stage is not None:
            continue
        for source in copy.sources:
            target = image.host_path(copy_target(copy, source))
            origin = REPO_ROOT / source
            if origin.is_dir():
                shutil.copytree(
                    origin, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
                )
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(origin, target)
    # What Kubernetes provides: the emptyDir at /tmp and the storage initializer's /mnt/models.
    (image.root / "tmp").mkdir(parents=True, exist_ok=True)
    (image.root / "mnt" / "models").mkdir(parents=True, exist_ok=True)
    return image


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}")
