"""One request per call, one single-sentence text per request, over each served protocol.

HTTP goes through one pooled `aiohttp.ClientSession` (httpx's AsyncClient costs about 7 ms of
client CPU per request at 32 connections here, 30x aiohttp, and would be the bottleneck on a
2-core machine: see docs/benchmarks.md); V2 gRPC through KServe's own
`InferenceGRPCClient` (never tritonclient.grpc in this process: both register `inference.*`
protobufs). Each target answers the list of translations it got back; a non-2xx answer or a
malformed body raises, and the load generator counts it as an error.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

from benchmarks.loadgen import Call
from benchmarks.workload import Workload

MODEL_NAME = "translator"
REQUEST_TIMEOUT_S = 120.0


class BadAnswer(RuntimeError):
    pass


@dataclass(frozen=True)
class Endpoint:
    """Where a server listens; `grpc_target` is host:port."""

    base_url: str
    grpc_target: str | None = None


async def _post(client: aiohttp.ClientSession, url: str, body: dict) -> dict:
    async with client.post(url, json=body) as response:
        if response.status != 200:
            raise BadAnswer(f"HTTP {response.status}: {(await response.text())[:200]}")
        return await response.json()


def _v2_body(text: str, index: int) -> dict:
    return {
        "id": f"bench-{index}",
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [text]}],
    }


def _v2_outputs(body: dict) -> list[str]:
    for output in body.get("outputs", []):
        if output.get("name") == "translation":
            return [str(value) for value in output["data"]]
    raise BadAnswer(f"no 'translation' output in {str(body)[:200]}")


@contextlib.asynccontextmanager
async def http_client(concurrency: int) -> AsyncIterator[aiohttp.ClientSession]:
    connector = aiohttp.TCPConnector(limit=concurrency + 4)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        yield client


def v1_rest(client: aiohttp.ClientSession, endpoint: Endpoint, workload: Workload) -> Call:
    url = f"{endpoint.base_url}/v1/models/{MODEL_NAME}:predict"

    async def call(index: int) -> list[str]:
        body = await _post(client, url, {"instances": [workload.text(index)]})
        predictions = body.get("predictions")
        if not isinstance(predictions, list):
            raise BadAnswer(f"no predictions in {str(body)[:200]}")
        return [str(p) for p in predictions]

    return call


def v2_rest(client: aiohttp.ClientSession, endpoint: Endpoint, workload: Workload) -> Call:
    url = f"{endpoint.base_url}/v2/models/{MODEL_NAME}/infer"

    async def call(index: int) -> list[str]:
        return _v2_outputs(await _post(client, url, _v2_body(workload.text(index), index)))

    return call


def libretranslate(client: aiohttp.ClientSession, endpoint: Endpoint, workload: Workload) -> Call:
    url = f"{endpoint.base_url}/translate"

    async def call(index: int) -> list[str]:
        body = {"q": workload.text(index), "source": "en", "target": "es", "format": "text"}
        answer = await _post(client, url, body)
        if "translatedText" not in answer:
            raise BadAnswer(f"no translatedText in {str(answer)[:200]}")
        return [str(answer["translatedText"])]

    return call


@contextlib.asynccontextmanager
async def v2_grpc(endpoint: Endpoint, workload: Workload) -> AsyncIterator[Call]:
    from kserve import InferenceGRPCClient, InferInput, InferRequest

    if endpoint.grpc_target is None:
        raise ValueError("this endpoint has no gRPC port")
    client = InferenceGRPCClient(endpoint.grpc_target, timeout=REQUEST_TIMEOUT_S, retries=0)

    async def call(index: int) -> list[str]:
        text = InferInput("text", [1], "BYTES", [workload.text(index)])
        response = await client.infer(InferRequest(MODEL_NAME, [text]))
        for output in response.outputs:
            if output.name == "translation":
                return [v.decode() if isinstance(v, bytes) else str(v) for v in output.data]
        raise BadAnswer("no 'translation' output in the gRPC answer")

    try:
        yield call
    finally:
        await client.close()
