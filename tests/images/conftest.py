"""The images `make images` built, started as containers and called with real clients.

A missing engine or image is a missing real part: under CI=true it fails the run, elsewhere the
tests skip saying why (`make test` builds the images first; `make images` does it alone).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

from tests.images.containers import (
    RunningContainer,
    docker_cli,
    has_image,
    image_reference,
    remove_session_containers,
    run_container,
)
from tests.manifests.rendering import KUSTOMIZE, REPO_ROOT, Resource, kustomize_build, of_kind
from tests.mlserver.model_dirs import embedded_package
from tests.support.availability import unavailable
from tests.support.processes import free_port

IMAGES = ("kserve-predictor", "mlserver-predictor", "transformer")
# Cold start of a container on a loaded 2-core machine: imports and model load.
READY_TIMEOUT_S = 180.0


@pytest.fixture(scope="session")
def cli() -> Iterator[str]:
    """The docker CLI of scripts/container-engine.sh, an engine answering, the images built."""
    found = docker_cli()
    if found is None:
        unavailable(
            "no container engine answers on the default socket: `make images` starts one "
            "(scripts/container-engine.sh up)"
        )
    missing = [
        image_reference(image) for image in IMAGES if not has_image(found, image_reference(image))
    ]
    if missing:
        unavailable(f"images not built: {', '.join(missing)} (run `make images`)")
    yield found
    remove_session_containers(found)


@pytest.fixture(scope="session")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("containers")


Start = Callable[..., RunningContainer]


@pytest.fixture(scope="session")
def start(cli: str, log_dir: Path) -> Start:
    """`start(image, ready_path, args, env, mounts, *, http_port, grpc_port, metrics_port)`:
    a container, once `ready_path` answers 200 on its HTTP port."""

    def started(
        image: str,
        ready_path: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        mounts: Mapping[Path, str] | None = None,
        *,
        http_port: int,
        grpc_port: int = 0,
        metrics_port: int = 0,
    ) -> RunningContainer:
        container = run_container(cli, image, log_dir, args, env, mounts)
        running = RunningContainer(container, http_port, grpc_port, metrics_port)
        try:
            container.wait_http_ok(running.base_url + ready_path, timeout=READY_TIMEOUT_S)
        except Exception:
            container.stop()
            raise
        return running

    return started


def kserve_args(http_port: int, grpc_port: int, *args: str) -> list[str]:
    return ["--model_name", "translator", "--http_port", str(http_port),
            "--grpc_port", str(grpc_port), *args]


def start_kserve(start: Start, *args: str, **kwargs: object) -> RunningContainer:
    """The KServe predictor image on free ports, with `args` after the model name and ports."""
    http_port, grpc_port = free_port(), free_port()
    return start(
        "kserve-predictor", "/v2/models/translator/ready", kserve_args(http_port, grpc_port, *args),
        http_port=http_port, grpc_port=grpc_port, **kwargs,
    )


@pytest.fixture(scope="session")
def kserve(start: Start) -> Iterator[RunningContainer]:
    """The KServe predictor image with its defaults (the embedded demo model)."""
    running = start_kserve(start)
    yield running
    running.stop()


def mlserver_env(http_port: int, grpc_port: int, metrics_port: int) -> dict[str, str]:
    return {
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(http_port),
        "MLSERVER_GRPC_PORT": str(grpc_port),
        "MLSERVER_METRICS_PORT": str(metrics_port),
    }


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What KServe's storage initializer leaves in /mnt/models for a storageUri: the package."""
    folder = tmp_path_factory.mktemp("mnt-models")
    package = shutil.copy2(embedded_package(), folder)
    # The container's user (uid 1000) reads it through the mount.
    os.chmod(folder, 0o755)
    os.chmod(package, 0o644)
    return folder


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Resource]]:
    """The overlays whose containers these tests run, rendered by the pinned kustomize."""
    if not KUSTOMIZE.is_file():
        unavailable(f"kustomize not built at {KUSTOMIZE}: run `make kustomize`")
    return {
        overlay: kustomize_build(REPO_ROOT / "manifests" / "overlays" / overlay)
        for overlay in ("default", "grpc", "mlserver", "explain")
    }


def inference_service(resources: list[Resource], name: str) -> Resource:
    return next(
        item for item in of_kind(resources, "InferenceService") if item["metadata"]["name"] == name
    )


def with_arg(args: Sequence[str], flag: str, value: str) -> list[str]:
    """`args` with `flag value` replaced, or appended when absent."""
    result = list(args)
    if flag in result:
        result[result.index(flag) + 1] = value
    else:
        result += [flag, value]
    return result


@pytest.fixture(scope="session")
def kserve_storage_uri(
    start: Start, rendered: dict, models_dir: Path
) -> Iterator[RunningContainer]:
    """The predictor as the default overlay runs it: the manifest's args (ports moved to free
    ones), its storageUri model mounted at /mnt/models."""
    container = inference_service(rendered["default"], "translator")["spec"]["predictor"][
        "containers"
    ][0]
    http_port, grpc_port = free_port(), free_port()
    args = with_arg(with_arg(container["args"], "--http_port", str(http_port)),
                    "--grpc_port", str(grpc_port))
    assert "/mnt/models" in args
    running = start(
        "kserve-predictor", container["readinessProbe"]["httpGet"]["path"], args,
        mounts={models_dir: "/mnt/models"}, http_port=http_port, grpc_port=grpc_port,
    )
    yield running
    running.stop()


@pytest.fixture(scope="session")
def mlserver(start: Start) -> Iterator[RunningContainer]:
    """The MLServer image with its defaults (/app/mlserver: the embedded demo model)."""
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    running = start(
        "mlserver-predictor", "/v2/models/translator/ready",
        env=mlserver_env(http_port, grpc_port, metrics_port),
        http_port=http_port, grpc_port=grpc_port, metrics_port=metrics_port,
    )
    yield running
    running.stop()


def start_transformer(
    start: Start, rendered: dict, overlay: str, predictor: RunningContainer
) -> RunningContainer:
    """The transformer image with an overlay's args, in front of the predictor container."""
    isvc = inference_service(rendered[overlay], "translator")
    container = isvc["spec"]["transformer"]["containers"][0]
    predictor_port = isvc["spec"]["predictor"]["containers"][0]["ports"][0]
    upstream = predictor.grpc_port if predictor_port["name"] == "h2c" else predictor.http_port
    http_port, grpc_port = free_port(), free_port()
    # KServe appends --predictor_host and --http_port (8080 in the pod; a free port here).
    args = [
        *container["args"],
        "--predictor_host", f"127.0.0.1:{upstream}",
        "--http_port", str(http_port),
        "--grpc_port", str(grpc_port),
        "--bind_host", "127.0.0.1",
    ]
    running = start(
        "transformer", container["readinessProbe"]["httpGet"]["path"], args,
        http_port=http_port, grpc_port=grpc_port,
    )
    try:
        # The probe says the transformer serves; its model is ready once the predictor answers.
        running.container.wait_http_ok(f"{running.base_url}/v2/models/translator/ready")
    except Exception:
        running.stop()
        raise
    return running


@pytest.fixture(scope="session")
def default_transformer(
    start: Start, rendered: dict, kserve_storage_uri: RunningContainer
) -> Iterator[RunningContainer]:
    """The transformer as the default overlay runs it, in front of the predictor container."""
    running = start_transformer(start, rendered, "default", kserve_storage_uri)
    yield running
    running.stop()
