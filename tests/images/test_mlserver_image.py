"""The MLServer image as a container: V2 REST (tritonclient) and V2 gRPC (KServe's client) with
its defaults; the ServingRuntime's args and environment with the storageUri model in /mnt/models."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.conftest import DEMO_EXAMPLES
from tests.images.conftest import Start, inference_service, mlserver_env
from tests.images.containers import RunningContainer
from tests.manifests.rendering import of_kind
from tests.manifests.webhook_rules import env_value
from tests.support.clients import grpc_translate, json_translate, rest_translate
from tests.support.processes import free_port

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]


def test_v2_rest_with_tritonclient(mlserver: RunningContainer) -> None:
    assert rest_translate(f"127.0.0.1:{mlserver.http_port}", ENGLISH) == SPANISH


async def test_v2_grpc_with_kserve_grpc_client(mlserver: RunningContainer) -> None:
    assert await grpc_translate(mlserver.grpc_target, ENGLISH[:3]) == SPANISH[:3]


def test_metrics_on_the_metrics_port(mlserver: RunningContainer) -> None:
    rest_translate(f"127.0.0.1:{mlserver.http_port}", ENGLISH[:1])
    exposition = httpx.get(mlserver.metrics_url, timeout=10).text
    for name in ("argos_sentences_translated_total", "model_infer_request_success_total"):
        assert name in exposition


def test_serving_runtime_serves_the_storage_uri_model(
    start: Start, rendered: dict, models_dir: Path
) -> None:
    """The ServingRuntime's args and env, merged with the InferenceService's as KServe does."""
    resources = rendered["mlserver"]
    runtime = of_kind(resources, "ServingRuntime")[0]["spec"]["containers"][0]
    isvc = inference_service(resources, "translator-mlserver")
    name = isvc["metadata"]["name"]
    items = [*runtime["env"], *(isvc["spec"]["predictor"]["model"].get("env") or [])]
    env = {item["name"]: item["value"].replace("{{.Name}}", name) for item in items}
    assert env_value(runtime, "MLSERVER_MODEL_URI") == "/mnt/models"
    http_port, grpc_port, metrics_port = free_port(), free_port(), free_port()
    env.update(mlserver_env(http_port, grpc_port, metrics_port))
    running = start(
        "mlserver-predictor", "/v2/models/translator/ready", runtime["args"], env,
        {models_dir: "/mnt/models"}, http_port=http_port, metrics_port=metrics_port,
    )
    try:
        assert json_translate(running.base_url, ENGLISH[:3]) == SPANISH[:3]
        exposition = httpx.get(running.metrics_url, timeout=10).text
        assert "argos_batch_size_sentences_bucket" in exposition
    finally:
        running.stop()
