"""Each image's Python environment is built from the image's own requirement files by replaying
its Dockerfile, and its entrypoint is started from there: with the image defaults (the embedded
demo model) and with what the manifests pass (a model in /mnt/models, as storageUri provides;
the MLServer runtime's environment; the transformer's and the explainer's args plus those
KServe appends). Each server must get ready, translate, and expose the metrics the dashboard
reads on the port the PodMonitors scrape. The environments must not contain torch.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.manifests.dockerfile_model import all_dockerfiles
from tests.manifests.image_rehearsal import ImageRoot, replay
from tests.manifests.rendering import REPO_ROOT, Resource, of_kind
from tests.manifests.webhook_rules import env_value
from tests.support.availability import unavailable
from tests.support.processes import VENVS, ServerProcess, free_port

pytestmark = pytest.mark.slow

EMBEDDED = REPO_ROOT / "predictors" / "argos_core" / "embedded"
EXAMPLES = [
    ("The small dog sleeps.", "El perro pequeño duerme."),
    ("My friends buy the red apples.", "Mis amigos compran las manzanas rojas."),
    ("The cat sees a beautiful flower.", "El gato ve una flor hermosa."),
]
# Upper bounds on the installed environments (MB): a dependency that balloons one fails here.
SIZE_BUDGET_MB = {"kserve-predictor": 550, "mlserver-predictor": 500, "transformer": 400}
ENGINE = {"ctranslate2", "sentencepiece"}
READY_TIMEOUT_S = 180.0


@pytest.fixture(scope="session")
def embedded_package() -> Path:
    packages = sorted(EMBEDDED.glob("*.argosmodel"))
    if not packages:
        unavailable(f"no embedded demo model in {EMBEDDED}: run `make demo-model`")
    return packages[0]


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ImageRoot]:
    uv = VENVS / "uv" / "bin" / "uv"
    if not uv.exists():
        unavailable(f"{uv} is missing: run `make venvs`")
    python = os.environ.get("PYTHON", "python3.11")
    if shutil.which(python) is None:
        unavailable(f"{python} not found (set PYTHON)")
    return {
        dockerfile.image: replay(dockerfile, tmp_path_factory.mktemp(dockerfile.image), uv, python)
        for dockerfile in all_dockerfiles()
    }


@pytest.mark.parametrize("image", sorted(SIZE_BUDGET_MB))
def test_environment_has_the_engine_it_needs_and_no_torch(image: str, images: dict) -> None:
    root = images[image]
    distributions = root.distributions()
    size_mb = root.size_bytes() / 2**20
    print(f"\n[image-env] {image}: {size_mb:.0f} MB, {len(distributions)} distributions")
    assert "torch" not in distributions and not (root.site_packages() / "torch").exists()
    assert not any(name.startswith("nvidia-") for name in distributions)
    if image == "transformer":
        assert not ENGINE & distributions, "the transformer needs no translation engine"
    else:
        assert distributions >= ENGINE and "argostranslate" in distributions
    assert size_mb < SIZE_BUDGET_MB[image], f"{image} environment is {size_mb:.0f} MB"


# ------------------------------------------------------------------ running the images


def with_arg(args: list[str], flag: str, value: str) -> list[str]:
    """`args` with `flag value` replaced, or appended when absent."""
    result = list(args)
    if flag in result:
        result[result.index(flag) + 1] = value
    else:
        result += [flag, value]
    return result


def start(
    image: ImageRoot,
    name: str,
    log_dir: Path,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> ServerProcess:
    server = ServerProcess(
        command=image.command(args, env), log_path=log_dir / f"{name}.log", cwd=image.workdir
    )
    return server.start()


@contextlib.contextmanager
def serving(
    image: ImageRoot,
    name: str,
    log_dir: Path,
    args: list[str],
    http_port: int,
    container: dict,
) -> Iterator[str]:
    """The image's entrypoint with `args`, once its container's readiness probe passes: the
    base URL; stopped on leaving."""
    server = start(image, name, log_dir, args)
    try:
        base = f"http://127.0.0.1:{http_port}"
        probe = container["readinessProbe"]["httpGet"]["path"]
        server.wait_http_ok(f"{base}{probe}", timeout=READY_TIMEOUT_S)
        yield base
    finally:
        server.stop()


def v2_translate(base_url: str, texts: list[str]) -> list[str]:
    body = {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}]}
    response = httpx.post(f"{base_url}/v2/models/translator/infer", json=body, timeout=60)
    assert response.status_code == 200, response.text
    output = response.json()["outputs"][0]
    assert output["name"] == "translation"
    return output["data"]


def assert_serves(
    server: ServerProcess, http_port: int, metrics_port: int, metrics: set[str]
) -> None:
    base = f"http://127.0.0.1:{http_port}"
    server.wait_http_ok(f"{base}/v2/models/translator/ready", timeout=READY_TIMEOUT_S)
    sources = [source for source, _ in EXAMPLES]
    assert v2_translate(base, sources) == [target for _, target in EXAMPLES]
    exposition = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    missing = {name for name in metrics if name not in exposition}
    assert not missing, f"/metrics on port {metrics_port} lacks {missing}"


def _isvc(resources: list[Resource], name: str) -> Resource:
    return next(
        item for item in of_kind(resources, "InferenceService") if item["metadata"]["name"] == name
    )


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("image-logs")


def test_kserve_predictor_image_defaults_serve_the_embedded_model(
    images: dict, embedded_package: Path, log_dir: Path
) -> None:
    image = images["kserve-predictor"]
    http_port, grpc_port = free_port(), free_port()
    cmd = image.dockerfile.final.exec_form("CMD")
    args = [*cmd, "--http_port", str(http_port), "--grpc_port", str(grpc_port)]
    app_before = image.files_under("/app")
    server = start(image, "kserve-default", log_dir, args)
    try:
        assert_serves(
            server,
            http_port,
            http_port,
            {"argos_sentences_translated_total", "request_predict_seconds"},
        )
        response = httpx.post(
            f"http://127.0.0.1:{http_port}/v1/models/translator:predict",
            json={"instances": ["My city is big."]},
            timeout=60,
        )
        assert response.json() == {"predictions": ["Mi ciudad es grande."]}
    finally:
        server.stop()
    assert image.files_under("/app") == app_before, (
        "the server wrote into /app (read-only in the pod)"
    )


@pytest.fixture(scope="module")
def kserve_from_manifest(
    images: dict, embedded_package: Path, rendered: dict, log_dir: Path
) -> Iterator[dict]:
    """The predictor as the default overlay runs it, its storageUri model in /mnt/models."""
    image = images["kserve-predictor"]
    shutil.copy2(embedded_package, image.host_path("/mnt/models") / embedded_package.name)
    container = _isvc(rendered["default"], "translator")["spec"]["predictor"]["containers"][0]
    ports = {"http": free_port(), "grpc": free_port()}
    args = with_arg(
        with_arg(container["args"], "--http_port", str(ports["http"])),
        "--grpc_port",
        str(ports["grpc"]),
    )
    assert "/mnt/models" in args
    server = start(image, "kserve-manifest", log_dir, args)
    try:
        assert_serves(server, ports["http"], ports["http"], {"argos_batch_size_sentences_bucket"})
        yield ports
    finally:
        server.stop()


def test_kserve_predictor_serves_the_storage_uri_model_with_manifest_args(
    kserve_from_manifest: dict,
) -> None:
    response = httpx.post(
        f"http://127.0.0.1:{kserve_from_manifest['http']}/v1/models/translator:predict",
        json={"instances": [{"text": "These happy women sing.", "source": "en", "target": "es"}]},
        timeout=60,
    )
    assert response.json() == {"predictions": ["Estas mujeres felices cantan."]}


@pytest.mark.parametrize("overlay", ["default", "grpc"])
def test_transformer_runs_with_manifest_and_kserve_args(
    overlay: str, images: dict, rendered: dict, kserve_from_manifest: dict, log_dir: Path
) -> None:
    image = images["transformer"]
    isvc = _isvc(rendered[overlay], "translator")
    container = isvc["spec"]["transformer"]["containers"][0]
    predictor_port = isvc["spec"]["predictor"]["containers"][0]["ports"][0]
    upstream = kserve_from_manifest["grpc" if predictor_port["name"] == "h2c" else "http"]
    http_port, grpc_port = free_port(), free_port()
    # KServe appends --predictor_host and --http_port (8080 in the pod; a free port here).
    args = [
        *container["args"],
        "--predictor_host",
        f"127.0.0.1:{upstream}",
        "--http_port",
        str(http_port),
        "--grpc_port",
        str(grpc_port),
    ]
    with serving(image, f"transformer-{overlay}", log_dir, args, http_port, container) as base:
        response = httpx.post(
            f"{base}/v1/models/translator:predict",
            json={"instances": [source for source, _ in EXAMPLES]},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == [target for _, target in EXAMPLES]
        exposition = httpx.get(f"{base}/metrics", timeout=10).text
        assert "argos_transformer_upstream_request_seconds_bucket" in exposition


def test_kserve_predictor_explains_as_the_explain_overlay_runs_it(
    images: dict, embedded_package: Path, rendered: dict, log_dir: Path
) -> None:
    """The `explain` overlay's explainer component: the predictor's container with the args
    KServe appends to an explainer (--predictor_host, --http_port), its model in /mnt/models."""
    image = images["kserve-predictor"]
    shutil.copy2(embedded_package, image.host_path("/mnt/models") / embedded_package.name)
    container = _isvc(rendered["explain"], "translator")["spec"]["explainer"]["containers"][0]
    http_port = free_port()
    args = [
        *with_arg(container["args"], "--grpc_port", str(free_port())),
        "--predictor_host",
        "translator-predictor.kserve-argos",
        "--http_port",
        str(http_port),
    ]
    with serving(image, "kserve-explainer", log_dir, args, http_port, container) as base:
        response = httpx.post(
            f"{base}/v1/models/translator:explain",
            json={"instances": [source for source, _ in EXAMPLES]},
            timeout=60,
        )
        assert response.status_code == 200, response.text
        explained = response.json()["explanations"]
        assert [e["translation"] for e in explained] == [target for _, target in EXAMPLES]
        assert all(e["sentences"][0]["alignments"] for e in explained)


def test_mlserver_image_defaults_serve_the_embedded_model(
    images: dict, embedded_package: Path, log_dir: Path
) -> None:
    image = images["mlserver-predictor"]
    ports = {
        "MLSERVER_HTTP_PORT": free_port(),
        "MLSERVER_GRPC_PORT": free_port(),
        "MLSERVER_METRICS_PORT": free_port(),
    }
    app_before = image.files_under("/app")
    server = start(
        image, "mlserver-default", log_dir, env={name: str(port) for name, port in ports.items()}
    )
    try:
        assert_serves(
            server,
            ports["MLSERVER_HTTP_PORT"],
            ports["MLSERVER_METRICS_PORT"],
            {"argos_sentences_translated_total", "model_infer_request_success_total"},
        )
    finally:
        server.stop()
    assert image.files_under("/app") == app_before, (
        "the server wrote into /app (read-only in the pod)"
    )


def test_mlserver_runtime_serves_the_storage_uri_model(
    images: dict, embedded_package: Path, rendered: dict, log_dir: Path
) -> None:
    """The ServingRuntime's args and env, merged with the InferenceService's as KServe does."""
    image = images["mlserver-predictor"]
    resources = rendered["mlserver"]
    runtime = of_kind(resources, "ServingRuntime")[0]["spec"]["containers"][0]
    isvc = _isvc(resources, "translator-mlserver")
    env = {item["name"]: item["value"] for item in runtime["env"]}
    env.update(
        {
            item["name"]: item["value"]
            for item in isvc["spec"]["predictor"]["model"].get("env") or []
        }
    )
    env = {
        name: value.replace("{{.Name}}", isvc["metadata"]["name"]) for name, value in env.items()
    }
    assert env_value(runtime, "MLSERVER_MODEL_URI") == "/mnt/models"
    models = image.host_path("/mnt/models")
    shutil.copy2(embedded_package, models / embedded_package.name)
    for name in ("MLSERVER_HTTP_PORT", "MLSERVER_GRPC_PORT", "MLSERVER_METRICS_PORT"):
        env[name] = str(free_port())
    server = start(image, "mlserver-runtime", log_dir, list(runtime["args"]), env)
    try:
        assert_serves(
            server,
            int(env["MLSERVER_HTTP_PORT"]),
            int(env["MLSERVER_METRICS_PORT"]),
            {"argos_batch_size_sentences_bucket"},
        )
    finally:
        server.stop()
