"""V2 REST (tritonclient.http, httpx) and V2 gRPC (KServe's client) against `mlserver start`."""

from __future__ import annotations

import httpx
import numpy as np
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.conftest import DEMO_EXAMPLES
from tests.mlserver.servers import RunningMLServer
from tests.support.clients import grpc_translate, rest_translate

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]


def test_demo_examples_over_rest_with_tritonclient(mlserver: RunningMLServer) -> None:
    assert rest_translate(mlserver.http_target, ENGLISH) == SPANISH


def test_explicit_pair_as_request_parameters_over_rest(mlserver: RunningMLServer) -> None:
    assert (
        rest_translate(mlserver.http_target, ENGLISH[:3], source="en", target="es") == SPANISH[:3]
    )


async def test_demo_examples_over_grpc_with_kserve_client(mlserver: RunningMLServer) -> None:
    translations = await grpc_translate(mlserver.grpc_target, ENGLISH, source="en", target="es")
    assert translations == SPANISH


async def test_grpc_raw_input_contents(mlserver: RunningMLServer) -> None:
    """Binary (raw_input_contents) BYTES tensors: MLServer answers in raw_output_contents too."""
    text = InferInput(name="text", shape=[3], datatype="BYTES")
    text.set_data_from_numpy(np.array(ENGLISH[:3], dtype=object), binary_data=True)
    request = InferRequest(model_name="translator", infer_inputs=[text])
    async with InferenceGRPCClient(mlserver.grpc_target, retries=0) as client:
        response = await client.infer(request)
    output = response.outputs[0]
    assert (output.name, output.datatype, list(output.shape)) == ("translation", "BYTES", [3])
    assert [value.decode("utf-8") for value in output.as_numpy().tolist()] == SPANISH[:3]


def test_n_by_1_shape_and_request_id(mlserver: RunningMLServer) -> None:
    body = {
        "id": "req-1",
        "inputs": [
            {
                "name": "text",
                "datatype": "BYTES",
                "shape": [2, 1],
                "data": [[ENGLISH[3]], [ENGLISH[4]]],
            }
        ],
    }
    response = httpx.post(mlserver.infer_url, json=body)
    assert response.status_code == 200, response.text
    payload = response.json()
    assert payload["id"] == "req-1"
    assert payload["model_name"] == "translator"
    [output] = payload["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == ("translation", "BYTES", [2])
    assert output["data"] == SPANISH[3:5]


def test_pair_from_input_tensors_one_per_row(mlserver: RunningMLServer) -> None:
    body = {
        "inputs": [
            {"name": "text", "datatype": "BYTES", "shape": [2], "data": ENGLISH[5:7]},
            {"name": "source", "datatype": "BYTES", "shape": [2], "data": ["en", "en"]},
            {"name": "target", "datatype": "BYTES", "shape": [1], "data": ["es"]},
        ]
    }
    response = httpx.post(mlserver.infer_url, json=body)
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["data"] == SPANISH[5:7]


def test_several_sentences_in_one_text_keep_their_layout(mlserver: RunningMLServer) -> None:
    text = f"{ENGLISH[0]} {ENGLISH[2]}\n\n{ENGLISH[7]}"
    assert rest_translate(mlserver.http_target, [text]) == [
        f"{SPANISH[0]} {SPANISH[2]}\n\n{SPANISH[7]}"
    ]


async def test_non_ascii_output_is_exact_over_rest_and_grpc(mlserver: RunningMLServer) -> None:
    # "Una niña lee el libro nuevo." carries ñ: UTF-8 must survive JSON and bytes_contents.
    texts = [ENGLISH[1], "The small dog sleeps. «ñandú» 日本語 🙂"]
    rest = rest_translate(mlserver.http_target, texts)
    grpc_ = await grpc_translate(mlserver.grpc_target, texts)
    assert rest == grpc_
    assert rest[0] == "Una niña lee el libro nuevo."
    assert rest[1].startswith("El perro pequeño duerme.")
    raw = httpx.post(
        mlserver.infer_url,
        json={
            "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [ENGLISH[1]]}]
        },
    )
    assert "Una niña lee el libro nuevo.".encode() in raw.content


def test_health_readiness_and_metadata(mlserver: RunningMLServer) -> None:
    base = mlserver.base_url
    assert httpx.get(f"{base}/v2/health/live").status_code == 200
    assert httpx.get(f"{base}/v2/health/ready").status_code == 200
    assert httpx.get(f"{base}/v2/models/translator/ready").status_code == 200
    metadata = httpx.get(f"{base}/v2/models/translator").json()
    assert metadata["name"] == "translator"
    assert metadata["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert metadata["outputs"] == [{"name": "translation", "datatype": "BYTES", "shape": [-1]}]


def test_metrics_are_on_their_own_port(mlserver: RunningMLServer) -> None:
    rest_translate(mlserver.http_target, ENGLISH[:1])
    metrics = httpx.get(mlserver.metrics_url)
    assert metrics.status_code == 200
    assert 'argos_batch_size_sentences_count{pair="en-es"}' in metrics.text
    assert "model_infer_request_success_total" in metrics.text
    assert httpx.get(f"{mlserver.base_url}/metrics").status_code == 404
