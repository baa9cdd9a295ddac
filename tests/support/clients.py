"""Call V2 and V1 servers the way users do, with the clients they use: plain JSON over httpx,
tritonclient.http (JSON or binary tensors, JSON or binary outputs), tritonclient.grpc (raw
tensors), and KServe's own REST and gRPC clients. Each returns the translations as strings."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import httpx
import numpy as np
import tritonclient.http as triton_http
from kserve import (
    InferenceGRPCClient,
    InferenceRESTClient,
    InferInput,
    InferRequest,
    RESTConfig,
)

from tests.support.processes import venv_python

TRITON_GRPC_CALL = Path(__file__).with_name("triton_grpc_call.py")


def rest_translate(
    http_target: str,
    texts: list[str],
    model_name: str = "translator",
    *,
    binary_inputs: bool = False,
    binary_outputs: bool | None = False,
    **parameters: str,
) -> list[str]:
    """V2 REST with tritonclient.http. `binary_outputs` None asks for no output at all, which
    tritonclient then requests in binary (its default)."""
    client = triton_http.InferenceServerClient(url=http_target, network_timeout=60.0)
    try:
        text = triton_http.InferInput("text", [len(texts)], "BYTES")
        text.set_data_from_numpy(np.array(texts, dtype=object), binary_data=binary_inputs)
        outputs = (
            None
            if binary_outputs is None
            else [triton_http.InferRequestedOutput("translation", binary_data=binary_outputs)]
        )
        result = client.infer(model_name, [text], outputs=outputs, parameters=parameters or None)
        translation = result.get_output("translation")
        assert translation["datatype"] == "BYTES"
        assert translation["shape"] == [len(texts)]
        return [_text(value) for value in result.as_numpy("translation").tolist()]
    finally:
        client.close()


def triton_grpc_translate(
    grpc_target: str, texts: list[str], model_name: str = "translator", **parameters: str
) -> list[str]:
    """V2 gRPC with tritonclient.grpc (raw input tensors, as it sends BYTES), in a process of
    its own: tritonclient's and KServe's generated gRPC modules clash in one process."""
    request = {"target": grpc_target, "model": model_name, "texts": texts, "parameters": parameters}
    completed = subprocess.run(
        [str(venv_python("dev")), str(TRITON_GRPC_CALL)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"tritonclient.grpc call failed:\n{completed.stderr[-4000:]}")
    return json.loads(completed.stdout)


def json_translate(
    base_url: str, texts: list[str], model_name: str = "translator", **parameters: str
) -> list[str]:
    """V2 REST as plain JSON over httpx."""
    document = json_infer(base_url, texts, model_name, **parameters)
    [output] = document["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == (
        "translation",
        "BYTES",
        [len(texts)],
    )
    return output["data"]


def json_infer(
    base_url: str, texts: list[str], model_name: str = "translator", **parameters: str
) -> dict:
    """The whole V2 REST answer to a plain JSON request (asserted 200)."""
    body: dict = {
        "id": "compare",
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}],
    }
    if parameters:
        body["parameters"] = parameters
    response = httpx.post(f"{base_url}/v2/models/{model_name}/infer", json=body, timeout=60.0)
    assert response.status_code == 200, response.text
    return response.json()


def v2_request(texts: list[str], model_name: str = "translator", **parameters: str) -> InferRequest:
    text = InferInput(name="text", shape=[len(texts)], datatype="BYTES", data=texts)
    return InferRequest(model_name=model_name, infer_inputs=[text], parameters=parameters or None)


async def grpc_translate(grpc_target: str, texts: list[str], **parameters: str) -> list[str]:
    """V2 gRPC with KServe's InferenceGRPCClient."""
    async with InferenceGRPCClient(grpc_target, retries=0, timeout=60) as client:
        response = await client.infer(v2_request(texts, **parameters))
    output = response.outputs[0]
    assert (output.name, output.datatype, list(output.shape)) == (
        "translation",
        "BYTES",
        [len(texts)],
    )
    return [_text(value) for value in output.data]


async def kserve_rest_translate(
    base_url: str, texts: list[str], protocol: str, **parameters: str
) -> list[str]:
    """V1 or V2 REST with KServe's InferenceRESTClient."""
    async with InferenceRESTClient(RESTConfig(protocol=protocol, retries=0, timeout=60)) as client:
        if protocol == "v1":
            body = {"instances": texts, **({"parameters": parameters} if parameters else {})}
            response = await client.infer(base_url, body, model_name="translator")
            return response["predictions"]
        response = await client.infer(
            base_url, v2_request(texts, **parameters), model_name="translator"
        )
    return [_text(value) for value in response.outputs[0].data]


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


async def post_concurrently(url: str, body: dict, requests: int, concurrency: int) -> None:
    """`requests` posts of `body` to `url`, `concurrency` at a time, every one answered 200."""
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(timeout=60) as client:

        async def post() -> None:
            async with limit:
                response = await client.post(url, json=body)
                assert response.status_code == 200, response.text

        await asyncio.gather(*(post() for _ in range(requests)))
