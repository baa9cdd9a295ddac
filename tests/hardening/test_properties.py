"""Property-based fuzzing: hypothesis-generated JSON and texts, and schemathesis driving every
operation of the servers' own OpenAPI documents (`/openapi.json`, served by KServe's FastAPI)."""

from __future__ import annotations

import contextlib
import os
from collections import Counter

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

from tests.conftest import DEMO_EXAMPLES
from tests.support.predictor import RunningPredictor
from tests.transformer.conftest import RunningTransformer

# `make fuzz-long` raises the example counts (ARGOS_FUZZ_EXAMPLES).
EXAMPLES = int(os.environ.get("ARGOS_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,  # the same examples on every run: a failure reproduces
    suppress_health_check=list(HealthCheck),
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=30),
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.sampled_from(["instances", "inputs", "text", "source", "target",
                                       "name", "datatype", "shape", "data", "parameters"])
                      | st.text(max_size=8), children, max_size=6),
    max_leaves=30,
)


def assert_json_4xx_or_ok(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text[:300]
    if response.status_code >= 400:
        assert isinstance(response.json()["error"], str)


@pytest.mark.parametrize("path", ["/v1/models/translator:predict", "/v2/models/translator/infer"])
def test_any_json_body_is_answered_without_a_server_error(
    predictor: RunningPredictor, path: str
) -> None:
    with httpx.Client(base_url=predictor.base_url, timeout=60) as client:

        @FUZZ
        @given(body=json_values)
        def check(body: object) -> None:
            assert_json_4xx_or_ok(client.post(path, json=body))

        check()
    assert predictor.server.alive()


@FUZZ
@given(
    texts=st.lists(st.text(max_size=60), min_size=1, max_size=6),
    known=st.sampled_from(DEMO_EXAMPLES),
    position=st.integers(min_value=0, max_value=6),
)
def test_any_texts_come_back_one_translation_each_in_order(
    predictor: RunningPredictor, texts: list[str], known: tuple[str, str], position: int
) -> None:
    english, spanish = known
    texts = [*texts]
    texts.insert(min(position, len(texts)), english)
    response = httpx.post(
        f"{predictor.base_url}/v1/models/translator:predict",
        json={"instances": texts},
        timeout=60,
    )
    assert response.status_code == 200, response.text[:300]
    predictions = response.json()["predictions"]
    assert len(predictions) == len(texts)
    assert all(isinstance(p, str) for p in predictions)
    assert predictions[texts.index(english)] == spanish


# Repository load/unload would unload the model under test: not for a fuzzer.
SKIPPED_OPERATIONS = ("/v2/repository/",)


def schemathesis_run(base_url: str, model_name: str) -> tuple[Counter, list[str], int]:
    """Every operation, positive and negative cases, with the model name fixed and free.

    Returns (statuses, server errors as curl commands, operations that produced examples).
    """
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    statuses: Counter = Counter()
    server_errors: list[str] = []
    exercised = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path.startswith(SKIPPED_OPERATIONS):
            continue
        variants = [
            (GenerationMode.POSITIVE, None),
            (GenerationMode.POSITIVE, {"model_name": model_name}),
            (GenerationMode.NEGATIVE, {"model_name": model_name}),
        ]
        for mode, path_parameters in variants:
            if path_parameters and "{model_name}" not in operation.path:
                path_parameters = None
                if mode is GenerationMode.POSITIVE:
                    continue  # the same as the first variant
            strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)
            exercised += bool(run_variant(strategy, base_url, statuses, server_errors))
    return statuses, server_errors, exercised


def run_variant(strategy: st.SearchStrategy, base_url: str, statuses: Counter,
                server_errors: list[str]) -> int:
    """Call the generated cases; returns how many there were."""
    calls = 0

    @settings(FUZZ, max_examples=max(10, EXAMPLES // 3))
    @given(case=strategy)
    def call(case: schemathesis.Case) -> None:
        nonlocal calls
        response = case.call(base_url=base_url, timeout=60)
        statuses[response.status_code] += 1
        calls += 1
        if response.status_code >= 500:
            server_errors.append(f"{case.as_curl_command()} -> {response.status_code}")

    # No negative case exists for an operation without parameters: Unsatisfiable.
    with contextlib.suppress(Unsatisfiable):
        call()
    return calls


@pytest.mark.parametrize("server", ["predictor", "transformer"])
def test_schemathesis_finds_no_server_error(
    request: pytest.FixtureRequest, server: str
) -> None:
    running: RunningPredictor | RunningTransformer = request.getfixturevalue(server)
    statuses, server_errors, exercised = schemathesis_run(running.base_url, "translator")
    print(f"schemathesis {server}: {exercised} operation variants, statuses {dict(statuses)}")
    versioning = [
        e for e in server_errors
        if ("model_version" in e or "/versions/" in e) and e.endswith("501")
    ]
    assert [e for e in server_errors if e not in versioning] == []
    assert exercised >= 15
    assert sum(n for status, n in statuses.items() if 400 <= status < 500) >= 100
    assert running.server.alive()
    assert versioning == []
