"""The transformer image as a container in front of the predictor container, both run with the
manifests' args (plus what KServe appends): V1, LibreTranslate `/translate` and a binary
CloudEvent through the default overlay (V2 REST to the predictor), V1 through the grpc overlay
(V2 gRPC to the predictor)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest
from cloudevents.conversion import to_binary
from cloudevents.http import from_http

from tests.conftest import DEMO_EXAMPLES
from tests.images.conftest import Start, start_transformer
from tests.images.containers import RunningContainer
from tests.transformer.test_cloudevents import kafka_event

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]


@pytest.fixture(scope="module", params=["default", "grpc"])
def transformer(
    request: pytest.FixtureRequest, start: Start, rendered: dict,
    kserve_storage_uri: RunningContainer,
) -> Iterator[RunningContainer]:
    """The transformer of the default overlay (V2 REST upstream) or the grpc one (V2 gRPC)."""
    if request.param == "default":
        yield request.getfixturevalue("default_transformer")
        return
    running = start_transformer(start, rendered, request.param, kserve_storage_uri)
    yield running
    running.stop()


def test_v1_through_the_transformer(transformer: RunningContainer) -> None:
    response = httpx.post(
        f"{transformer.base_url}/v1/models/translator:predict", json={"instances": ENGLISH},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"predictions": SPANISH}
    exposition = httpx.get(transformer.metrics_url, timeout=10).text
    assert "argos_transformer_upstream_request_seconds_bucket" in exposition


def test_libretranslate_translate(default_transformer: RunningContainer) -> None:
    response = httpx.post(
        f"{default_transformer.base_url}/translate",
        json={"q": ENGLISH[:3], "source": "en", "target": "es", "format": "text"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"translatedText": SPANISH[:3]}


def test_binary_cloudevent(default_transformer: RunningContainer) -> None:
    data = json.dumps({"text": ENGLISH[0]}).encode()
    headers, body = to_binary(kafka_event(data, "application/json"), data_marshaller=lambda d: d)
    response = httpx.post(
        f"{default_transformer.base_url}/v1/models/translator:predict",
        content=body, headers=headers, timeout=60,
    )
    assert response.status_code == 200, response.text
    reply = from_http(dict(response.headers), response.content)
    assert reply["id"] == "partition:0/offset:17"
    assert reply["key"] == "user-42"
    assert reply.get_data()["translation"] == SPANISH[0]
