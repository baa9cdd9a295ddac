"""What reaches the predictor: only three headers, normalised text, bounded segments, one call
per language pair — observed on a recording upstream server."""

from __future__ import annotations

import httpx
from kserve import InferenceGRPCClient, InferInput, InferRequest

from tests.transformer.conftest import MODEL, UpstreamTransformer
from tests.transformer.upstreams import RecordingUpstream

# Headers httpx itself sends on every request; everything else must come from the caller.
TRANSPORT_HEADERS = {
    "host", "accept", "accept-encoding", "connection", "user-agent", "content-length",
    "content-type",
}
FORWARDED = {
    "authorization": "Bearer secret-token",
    "x-request-id": "req-123",
    "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
}
NOT_FORWARDED = {
    "cookie": "session=abc",
    "x-api-key": "k",
    "tracestate": "vendor=1",
    "x-b3-traceid": "80f198ee56343ba864fe8b2a57d3eff7",
    "x-forwarded-for": "10.0.0.1",
    "ce-id": "not-an-event-without-the-others",
}


def caller_headers(upstream: RecordingUpstream) -> list[dict[str, str]]:
    return [
        {name: value for name, value in request.headers.items() if name not in TRANSPORT_HEADERS}
        for request in upstream.infer_requests()
    ]


def test_only_authorization_request_id_and_traceparent_are_forwarded(
    via_upstream: UpstreamTransformer, upstream: RecordingUpstream
) -> None:
    for protocol in ("v1", "v2"):
        upstream.clear()
        transformer = via_upstream(protocol)
        response = transformer.predict(
            {"instances": ["hello"]}, headers={**FORWARDED, **NOT_FORWARDED}
        )
        assert response.status_code == 200, response.text
        libre = httpx.post(
            f"{transformer.base_url}/translate",
            json={"q": "hello", "source": "en", "target": "es"},
            headers={**FORWARDED, **NOT_FORWARDED},
        )
        assert libre.status_code == 200, libre.text
        assert caller_headers(upstream) == [FORWARDED, FORWARDED]


def test_absent_headers_are_not_invented_but_a_request_gets_an_id(
    via_upstream: UpstreamTransformer, upstream: RecordingUpstream
) -> None:
    transformer = via_upstream("v1")
    response = transformer.predict({"instances": ["hello"]})
    assert response.status_code == 200
    made = response.headers["x-request-id"]  # the caller learns the id its request went by
    assert len(made) == 32
    assert caller_headers(upstream) == [{"x-request-id": made}]


async def test_a_grpc_call_forwards_its_request_id_or_gets_one(
    via_upstream: UpstreamTransformer, upstream: RecordingUpstream
) -> None:
    transformer = via_upstream("v1")
    text = InferInput(name="text", shape=[1], datatype="BYTES", data=["hello"])
    client = InferenceGRPCClient(transformer.grpc_target, retries=0, timeout=30)
    try:
        for metadata in ((("x-request-id", "grpc-caller-1"),), None):
            await client.infer(
                InferRequest(model_name=MODEL, infer_inputs=[text]), headers=metadata
            )
    finally:
        await client.close()
    given, made = (headers.get("x-request-id", "") for headers in caller_headers(upstream))
    assert given == "grpc-caller-1"
    assert len(made) == 32


def test_text_reaches_the_predictor_normalised_in_bounded_segments(
    via_upstream: UpstreamTransformer, upstream: RecordingUpstream
) -> None:
    transformer = via_upstream("v1")
    text = (
        "  Cafe\u0301  au\u00a0lait.\r\n\r\n\r\n"
        "The small dog sleeps. A girl reads the new book. The houses are white."
    )
    response = transformer.predict({"instances": [text]})
    assert response.status_code == 200, response.text
    sent = [text for request in upstream.infer_requests() for text in request.body["instances"]]
    assert sorted(sent) == [  # in calls of at most 3 texts, run concurrently
        "A girl reads the new book.",
        "Caf\u00e9 au lait.",
        "The houses are white.",
        "The small dog sleeps.",
    ]
    assert response.json() == {
        "predictions": [
            "CAF\u00c9 AU LAIT.\n\nTHE SMALL DOG SLEEPS. A GIRL READS THE NEW BOOK. "
            "THE HOUSES ARE WHITE."
        ]
    }


def test_each_language_pair_goes_in_its_own_calls_of_bounded_size(
    via_upstream: UpstreamTransformer, upstream: RecordingUpstream
) -> None:
    transformer = via_upstream("v2")
    instances = [f"text {i}" for i in range(7)] + [{"text": "bonjour", "source": "fr"}]
    response = transformer.predict({"instances": instances, "parameters": {"target": "es"}})
    assert response.status_code == 200, response.text
    assert response.json()["predictions"] == [f"TEXT {i}" for i in range(7)] + ["BONJOUR"]
    calls = sorted(
        (
            tuple(request.body["inputs"][0]["data"]),
            request.body.get("parameters", {}).get("source"),
            request.body["parameters"]["target"],
        )
        for request in upstream.infer_requests()
    )
    assert calls == [
        (("bonjour",), "fr", "es"),
        (("text 0", "text 1", "text 2"), None, "es"),
        (("text 3", "text 4", "text 5"), None, "es"),
        (("text 6",), None, "es"),
    ]


def test_request_limits_are_checked_before_calling_the_predictor(
    via_upstream: UpstreamTransformer, upstream: RecordingUpstream
) -> None:
    transformer = via_upstream("v1")
    too_many = transformer.predict({"instances": ["a"] * 17})
    assert too_many.status_code == 413
    assert too_many.json() == {"error": "17 texts in one request; the limit is 16"}
    too_long = transformer.predict({"instances": ["x" * 401]})
    assert too_long.status_code == 413
    assert "401 characters in one request; the limit is 400" in too_long.json()["error"]
    assert upstream.infer_requests() == []
