"""The KServe predictor image as a container: V1, V2 REST and V2 gRPC with KServe's clients and
httpx; its metrics; the storageUri model mounted at /mnt/models with the default overlay's args."""

from __future__ import annotations

import httpx
from kserve import InferenceRESTClient, RESTConfig

from tests.conftest import DEMO_EXAMPLES
from tests.images.containers import RunningContainer
from tests.kserve.test_protocols import v2_request
from tests.support.clients import grpc_translate

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
