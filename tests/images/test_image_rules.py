"""What every image is when it runs: its own non-root user, a read-only root file system with
/tmp (a tmpfs) the only writable place; exactly the sources its Dockerfile copies in /app
(BuildKit kept the build context to <Dockerfile>.dockerignore: no __pycache__ or .venvs from
the host); no torch, no test suites in its Python environment."""

from __future__ import annotations

import pytest

from tests.images.conftest import IMAGES
from tests.images.containers import RunningContainer, docker, image_reference
from tests.manifests.dockerfile_model import DOCKERFILES, REPO_ROOT, copy_target, parse

# Which running container (a fixture of conftest.py) shows each image.
RUNNING = {
    "kserve-predictor": "kserve",
    "mlserver-predictor": "mlserver",
    "transformer": "default_transformer",
}


@pytest.fixture(params=IMAGES)
def image(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def running(image: str, request: pytest.FixtureRequest) -> RunningContainer:
    return request.getfixturevalue(RUNNING[image])


def in_image(cli: str, image: str, script: str) -> str:
    """A shell script's output in a throw-away container of the image (no network)."""
    return docker(
        cli, "run", "--rm", "--network", "none", "--entrypoint", "sh", image_reference(image),
        "-c", script,
    )


def test_runs_as_its_own_non_root_user(cli: str, image: str, running: RunningContainer) -> None:
    configured = docker(cli, "image", "inspect", "--format", "{{.Config.User}}",
                        image_reference(image)).strip()
    assert configured == "1000:1000"
    assert running.container.exec("id", "-u").stdout.strip() == "1000"


def test_root_is_read_only_and_tmp_a_writable_tmpfs(running: RunningContainer) -> None:
    for path in ("/app/probe", "/opt/venv/probe", "/probe"):
        result = running.container.exec("touch", path)
        assert result.returncode != 0 and "Read-only file system" in result.stderr, path
    written = running.container.exec("sh", "-c", "echo ok > /tmp/probe && cat /tmp/probe")
    assert written.stdout == "ok\n", written.stderr
    proc_mounts = running.container.exec("cat", "/proc/mounts").stdout
    mounts = [line.split() for line in proc_mounts.splitlines()]
    assert any(mount[1] == "/tmp" and mount[2] == "tmpfs" for mount in mounts)
    assert any(mount[1] == "/" and "ro" in mount[3].split(",") for mount in mounts)


def copied_sources(image: str) -> set[str]:
    """Container paths of the files the final stage copies from the build context, as the
    .dockerignore lets them through (no __pycache__, no .pyc)."""
    dockerfile = parse(DOCKERFILES / f"{image}.Dockerfile")
    paths = set()
    for copy in dockerfile.final.copies():
        if copy.from_stage is not None:
            continue
        for source in copy.sources:
            origin, target = REPO_ROOT / source, copy_target(copy, source)
            files = origin.rglob("*") if origin.is_dir() else [origin]
            for path in files:
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    paths.add(f"{target}/{path.relative_to(origin)}" if origin.is_dir() else target)
    return paths


def test_app_holds_exactly_the_copied_sources_and_their_bytecode(cli: str, image: str) -> None:
    tag, *files = in_image(
        cli, image, "python -c 'import sys; print(sys.implementation.cache_tag)'; find /app -type f"
    ).split()
    sources = copied_sources(image)
    bytecode = {  # what `python -m compileall /app` writes at build time
        f"{path.rsplit('/', 1)[0]}/__pycache__/{path.rsplit('/', 1)[1][:-3]}.{tag}.pyc"
        for path in sources
        if path.endswith(".py")
    }
    assert set(files) == sources | bytecode


def test_environment_has_no_torch_and_no_test_suites(cli: str, image: str) -> None:
    site = "/opt/venv/lib/python3*/site-packages"
    listing = in_image(cli, image, f"ls {site}; echo ---; find {site} -type d -name tests").split()
    packages, test_dirs = listing[: listing.index("---")], listing[listing.index("---") + 1 :]
    assert not [name for name in packages if name.startswith(("torch", "nvidia"))]
    assert test_dirs == []
    engine = {"ctranslate2", "sentencepiece"}
    if image == "transformer":
        assert not engine & set(packages), "the transformer needs no translation engine"
    else:
        assert engine <= set(packages) and "argostranslate" in packages


# Goals of the image report (docs/deploy.md): each predictor under 700 MB on the slim Python base
# (or the local stand-in for it), the transformer smaller than either predictor.
PREDICTOR_BUDGET_MB = 700


def test_sizes(cli: str) -> None:
    size_mb = {
        image: int(docker(cli, "image", "inspect", "--format", "{{.Size}}", image_reference(image)))
        / 1e6
        for image in IMAGES
    }
    print(f"\n[image sizes] {', '.join(f'{name} {mb:.0f} MB' for name, mb in size_mb.items())}")
    for predictor in ("kserve-predictor", "mlserver-predictor"):
        assert size_mb[predictor] < PREDICTOR_BUDGET_MB, size_mb
        assert size_mb["transformer"] < size_mb[predictor], size_mb
