"""Call a V2 server the way users do: tritonclient.http (JSON tensors) and KServe's gRPC client."""

from __future__ import annotations

import httpx
import numpy as np
import tritonclient.http as triton_http
from kserve import InferenceGRPCClient, InferInput, InferRequest


def rest_translate(
    http_target: str, texts: list[str], model_name: str = "translator", **parameters: str
) -> list[str]:
    """V2 REST with tritonclient.http; JSON tensors (MLServer has no binary tensor extension)."""
    client = triton_http.InferenceServerClient(url=http_target, network_timeout=60.0)
    try:
        text = triton_http.InferInput("text", [len(texts)], "BYTES")
        text.set_data_from_numpy(np.array(texts, dtype=object), binary_data=False)
        output = triton_http.InferRequestedOutput("translation", binary_data=False)
        result = client.infer(model_name, [text], outputs=[output], parameters=parameters or None)
        translation = result.get_output("translation")
        assert translation["datatype"] == "BYTES"
        assert translation["shape"] == [len(texts)]
        return [_text(value) for value in result.as_numpy("translation").tolist()]
    finally:
        client.close()


def json_translate(
    base_url: str, texts: list[str], model_name: str = "translator", **parameters: str
) -> list[str]:
    """V2 REST as plain JSON over httpx (KServe's server wants binary tensors from tritonclient)."""
    body: dict = {
        "id": "compare",
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}],
    }
    if parameters:
        body["parameters"] = parameters
    response = httpx.post(f"{base_url}/v2/models/{model_name}/infer", json=body, timeout=60.0)
    assert response.status_code == 200, response.text
    [output] = response.json()["outputs"]
    assert (output["name"], output["datatype"], output["shape"]) == (
        "translation",
        "BYTES",
        [len(texts)],
    )
    return output["data"]


def v2_request(texts: list[str], model_name: str = "translator", **parameters: str) -> InferRequest:
    text = InferInput(name="text", shape=[len(texts)], datatype="BYTES", data=texts)
    return InferRequest(model_name=model_name, infer_inputs=[text], parameters=parameters or None)


async def grpc_translate(grpc_target: str, texts: list[str], **parameters: str) -> list[str]:
    async with InferenceGRPCClient(grpc_target, retries=0, timeout=60) as client:
        response = await client.infer(v2_request(texts, **parameters))
    output = response.outputs[0]
    assert (output.name, output.datatype, list(output.shape)) == (
        "translation",
        "BYTES",
        [len(texts)],
    )
    return [_text(value) for value in output.data]


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)
