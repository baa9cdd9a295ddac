"""CloudEvents on the V1 `:predict` path, as a Knative KafkaSource sends them (binary mode,
`key` extension) or as structured JSON; the reply keeps the event id and the Kafka key."""

from __future__ import annotations

import json

import httpx
import pytest
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_http

from tests.conftest import DEMO_EXAMPLES
from tests.transformer.conftest import RunningTransformer

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]
KAFKA_SOURCE = "/apis/v1/namespaces/demo/kafkasources/texts#texts"


def kafka_event(data: object, content_type: str, key: str | None = "user-42") -> CloudEvent:
    """An event shaped like a KafkaSource's: partition/offset id, `key` extension."""
    attributes = {
        "id": "partition:0/offset:17",
        "source": KAFKA_SOURCE,
        "type": "dev.knative.kafka.event",
        "subject": "partition:0#17",
        "datacontenttype": content_type,
    }
    if key is not None:
        attributes["key"] = key
    return CloudEvent(attributes, data)


def post(transformer: RunningTransformer, headers: dict, body: bytes) -> httpx.Response:
    return httpx.post(transformer.predict_url, content=body, headers=headers, timeout=30)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        (json.dumps({"text": ENGLISH[0]}).encode(), "application/json"),
        (ENGLISH[0].encode(), "text/plain"),
    ],
    ids=["json-data", "plain-text-data"],
)
def test_binary_event_reply_keeps_id_and_key(
    transformer: RunningTransformer, data: bytes, content_type: str
) -> None:
    headers, body = to_binary(kafka_event(data, content_type), data_marshaller=lambda d: d)
    response = post(transformer, headers, body)
    assert response.status_code == 200, response.text
    reply = from_http(dict(response.headers), response.content)
    assert reply["id"] == "partition:0/offset:17"
    assert reply["key"] == reply["partitionkey"] == "user-42"
    assert reply["type"] == "io.kserve.inference.response"
    assert reply.get_data() == {
        "id": "partition:0/offset:17", "translation": SPANISH[0], "source": None, "target": None,
    }


def test_binary_event_with_a_v1_body_and_a_record_id(transformer: RunningTransformer) -> None:
    v1 = kafka_event(json.dumps({"instances": ENGLISH[:2]}).encode(), "application/json", None)
    headers, body = to_binary(v1, data_marshaller=lambda d: d)
    reply = from_http(*_reply(post(transformer, headers, body)))
    assert reply.get_data() == {"predictions": SPANISH[:2]}
    assert "key" not in reply.get_attributes()
    record = kafka_event(
        json.dumps({"text": ENGLISH[1], "id": "order-9", "target": "es"}).encode(),
        "application/json",
    )
    headers, body = to_binary(record, data_marshaller=lambda d: d)
    reply = from_http(*_reply(post(transformer, headers, body)))
    assert reply["id"] == "partition:0/offset:17"
    assert reply.get_data() == {
        "id": "order-9", "translation": SPANISH[1], "source": None, "target": "es",
    }


@pytest.mark.parametrize(
    ("data", "content_type"),
    [({"text": ENGLISH[2], "source": "en"}, "application/json"), (ENGLISH[2], "text/plain")],
    ids=["json-data", "text-data"],
)
def test_structured_event_reply_is_structured(
    transformer: RunningTransformer, data: object, content_type: str
) -> None:
    event = kafka_event(data, content_type)
    del event["time"]  # optional in the spec (KServe's own check requires it)
    headers, body = to_structured(event)
    response = post(transformer, headers, body)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/cloudevents+json"
    reply = response.json()
    assert (reply["id"], reply["key"], reply["partitionkey"]) == (
        "partition:0/offset:17", "user-42", "user-42",
    )
    assert reply["data"]["translation"] == SPANISH[2]
    assert reply["data"]["id"] == "partition:0/offset:17"


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s", "ce-type": "t"}, b"",
         "CloudEvent has no data"),
        ({"ce-specversion": "9.9", "ce-id": "1", "ce-source": "s", "ce-type": "t"}, b"x",
         "invalid CloudEvent"),
        ({"ce-specversion": "1.0", "ce-id": "1", "ce-source": "s", "ce-type": "t",
          "content-type": "application/json"}, b'{"text": ', "not valid JSON"),
        ({"content-type": "application/cloudevents+json"}, b'{"data": "x"}',
         "invalid CloudEvent"),
    ],
    ids=["no-data", "bad-specversion", "broken-json-data", "structured-without-attributes"],
)
def test_bad_events_are_400(
    transformer: RunningTransformer, headers: dict, body: bytes, message: str
) -> None:
    response = post(transformer, headers, body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]


def _reply(response: httpx.Response) -> tuple[dict, bytes]:
    assert response.status_code == 200, response.text
    return dict(response.headers), response.content
