"""Scores on Kafka output records (`KAFKA_OUTPUT_SCORES`), end to end through the real broker,
predictor and transformer: with the setting each output carries `score`, the predictor's own
0-1 confidence (a list for a record holding several texts); without it, no `score`."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.conftest import DEMO_EXAMPLES
from tests.kafka.accounting import assert_nothing_lost, collect, expected_coordinates
from tests.kafka.services import Predictor, Topics, TransformerFactory, new_topics
from tests.support.kafka import KafkaBroker

pytestmark = pytest.mark.kafka

DEADLINE = 120.0
ENGLISH = [english for english, _ in DEMO_EXAMPLES]
OUT_OF_DOMAIN = "Quantum chromodynamics describes gluons."


def records() -> list[tuple[bytes, bytes]]:
    """One text per record, and one V1 body of two texts."""
    singles = [
        (b"k", json.dumps({"text": text, "id": f"one-{n}"}).encode())
        for n, text in enumerate([ENGLISH[0], ENGLISH[4], OUT_OF_DOMAIN])
    ]
    body = {"instances": ENGLISH[1:3], "parameters": {"source": "en", "target": "es"},
            "id": "two"}
    return [*singles, (b"k", json.dumps(body).encode())]


def translate_all(
    broker: KafkaBroker, names: Topics, start: TransformerFactory, host: str, *flags: str
) -> dict[str, dict]:
    """Every output record's body by id, once all four are out."""
    broker.produce(names.input, records())
    start(host, *flags, names=names)
    inputs = expected_coordinates(broker, names.input)
    outcome = collect(broker, names.output, names.dlq, inputs, DEADLINE)
    assert_nothing_lost(outcome, inputs)
    assert outcome.dead == []
    return {body["id"]: body for body in (json.loads(r.value) for r in outcome.outputs)}


def predictor_scores(predictor: Predictor, texts: list[str]) -> list[float]:
    response = httpx.post(
        f"http://{predictor.host}/v1/models/translator:predict",
        json={"instances": texts, "parameters": {"return_scores": True}}, timeout=60,
    )
    assert response.status_code == 200, response.text
    return [prediction["score"] for prediction in response.json()["predictions"]]


def test_outputs_carry_the_score_when_configured_and_not_by_default(
    kafka_broker: KafkaBroker, topics: Topics, shared_predictor: Predictor,
    kafka_transformer: TransformerFactory,
) -> None:
    scored = translate_all(
        kafka_broker, topics, kafka_transformer, shared_predictor.host,
        "--kafka_output_scores", "true",
    )
    singles = [scored[f"one-{n}"] for n in range(3)]
    assert all(list(body) == ["id", "translation", "source", "target", "score"]
               for body in singles)
    expected = predictor_scores(shared_predictor, [ENGLISH[0], ENGLISH[4], OUT_OF_DOMAIN])
    assert [body["score"] for body in singles] == pytest.approx(expected, rel=1e-6)
    assert all(0 < body["score"] <= 1 for body in singles)
    assert singles[2]["score"] < min(singles[0]["score"], singles[1]["score"])
    assert scored["two"]["score"] == pytest.approx(
        predictor_scores(shared_predictor, ENGLISH[1:3]), rel=1e-6
    )

    plain = translate_all(
        kafka_broker, new_topics(kafka_broker), kafka_transformer, shared_predictor.host
    )
    assert all("score" not in body for body in plain.values())
    assert {key: body["translation"] for key, body in plain.items()} == {
        key: body["translation"] for key, body in scored.items()
    }
