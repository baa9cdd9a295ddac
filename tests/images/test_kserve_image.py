"""The KServe predictor image as a container: V1, V2 REST and V2 gRPC with KServe's clients and
httpx; its metrics; the storageUri model mounted at /mnt/models with the default overlay's args;
`:explain` as the explain overlay's explainer component runs it."""

from __future__ import annotations

from pathlib import Path

import httpx
from kserve import InferenceRESTClient, RESTConfig

from tests.conftest import DEMO_EXAMPLES
from tests.images.conftest import Start, inference_service, with_arg
from tests.images.containers import RunningContainer
from tests.kserve.test_protocols import v2_request
from tests.support.clients import grpc_translate
from tests.support.processes import free_port

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]


def test_v1_with_httpx(kserve: RunningContainer) -> None:
    response = httpx.post(
        f"{kserve.base_url}/v1/models/translator:predict", json={"instances": ENGLISH}, timeout=60
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": SPANISH}


async def test_v1_with_kserve_rest_client(kserve: RunningContainer) -> None:
    async with InferenceRESTClient(RESTConfig(protocol="v1", retries=0, timeout=60)) as client:
        response = await client.infer(
            kserve.base_url, {"instances": ENGLISH[:3]}, model_name="translator"
        )
    assert response["predictions"] == SPANISH[:3]


async def test_v2_rest_with_kserve_rest_client(kserve: RunningContainer) -> None:
    async with InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=60)) as client:
        response = await client.infer(
            kserve.base_url, v2_request(ENGLISH, source="en", target="es"), model_name="translator"
        )
    output = response.outputs[0]
    assert (output.name, output.datatype, output.shape) == ("translation", "BYTES", [8])
    assert [
        value.decode() if isinstance(value, bytes) else value for value in output.data
    ] == SPANISH


async def test_v2_grpc_with_kserve_grpc_client(kserve: RunningContainer) -> None:
    assert await grpc_translate(kserve.grpc_target, ENGLISH) == SPANISH


def test_metrics_on_the_http_port(kserve: RunningContainer) -> None:
    httpx.post(
        f"{kserve.base_url}/v1/models/translator:predict", json={"instances": ENGLISH[:1]},
        timeout=60,
    )
    exposition = httpx.get(kserve.metrics_url, timeout=10).text
    for name in ("argos_sentences_translated_total", "request_predict_seconds"):
        assert name in exposition


def test_serves_the_storage_uri_model_from_mnt_models(
    kserve_storage_uri: RunningContainer,
) -> None:
    response = httpx.post(
        f"{kserve_storage_uri.base_url}/v1/models/translator:predict",
        json={"instances": [{"text": "These happy women sing.", "source": "en", "target": "es"}]},
        timeout=60,
    )
    assert response.json() == {"predictions": ["Estas mujeres felices cantan."]}
    assert "packages loaded model_dir=/mnt/models pairs=en->es" in (
        kserve_storage_uri.container.log()
    )


def test_explains_as_the_explain_overlay_runs_it(
    start: Start, rendered: dict, models_dir: Path
) -> None:
    """The `explain` overlay's explainer component: the predictor's container with the args
    KServe appends to an explainer (--predictor_host, --http_port), its model in /mnt/models."""
    container = inference_service(rendered["explain"], "translator")["spec"]["explainer"][
        "containers"
    ][0]
    http_port, grpc_port = free_port(), free_port()
    args = [
        *with_arg(container["args"], "--grpc_port", str(grpc_port)),
        "--predictor_host", "translator-predictor.kserve-argos", "--http_port", str(http_port),
    ]
    explainer = start(
        "kserve-predictor", container["readinessProbe"]["httpGet"]["path"], args,
        mounts={models_dir: "/mnt/models"}, http_port=http_port, grpc_port=grpc_port,
    )
    try:
        response = httpx.post(
            f"{explainer.base_url}/v1/models/translator:explain",
            json={"instances": ["The small dog sleeps.", "My city is big."]},
            timeout=60,
        )
    finally:
        explainer.stop()
    assert response.status_code == 200, response.text
    explained = response.json()["explanations"]
    assert [e["translation"] for e in explained] == [
        "El perro pequeño duerme.", "Mi ciudad es grande."
    ]
    assert all(e["sentences"][0]["alignments"] for e in explained)
