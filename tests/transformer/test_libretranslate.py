"""LibreTranslate-compatible API on the transformer, against the real predictor."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import DEMO_EXAMPLES
from tests.transformer.conftest import RunningTransformer

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]


def translate(transformer: RunningTransformer, **kwargs: object) -> httpx.Response:
    return httpx.post(f"{transformer.base_url}/translate", timeout=30, **kwargs)


def test_q_string_and_list_as_json(transformer: RunningTransformer) -> None:
    single = translate(transformer, json={"q": ENGLISH[0], "source": "en", "target": "es"})
    assert single.status_code == 200, single.text
    assert single.json() == {"translatedText": SPANISH[0]}
    many = translate(
        transformer, json={"q": ENGLISH[:3], "source": "en", "target": "es", "format": "text"}
    )
    assert many.json() == {"translatedText": SPANISH[:3]}


def test_form_bodies_urlencoded_and_multipart(transformer: RunningTransformer) -> None:
    form = {"q": ENGLISH[4], "source": "en", "target": "es", "api_key": ""}
    urlencoded = translate(transformer, data=form)
    assert urlencoded.json() == {"translatedText": SPANISH[4]}, urlencoded.text
    multipart = translate(transformer, data=form, files={"unused": ("a.txt", b"x")})
    assert multipart.json() == {"translatedText": SPANISH[4]}, multipart.text
    repeated = translate(
        transformer,
        content=f"q={ENGLISH[1]}&q={ENGLISH[2]}&source=en&target=es".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert repeated.json() == {"translatedText": SPANISH[1:3]}


def test_source_auto_resolves_when_only_one_language_translates_into_the_target(
    transformer: RunningTransformer,
) -> None:
    response = translate(transformer, json={"q": ENGLISH[7], "source": "auto", "target": "es"})
    assert response.json() == {"translatedText": SPANISH[7]}


def test_languages(transformer: RunningTransformer) -> None:
    response = httpx.get(f"{transformer.base_url}/languages")
    assert response.json() == [
        {"code": "en", "name": "English", "targets": ["es"]},
        {"code": "es", "name": "Spanish", "targets": []},
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"source": "en", "target": "es"}, "Invalid request: missing q parameter"),
        ({"q": "Hi.", "source": "en"}, "Invalid request: missing target parameter"),
        ({"q": "Hi.", "source": "en", "target": "es", "format": "html"}, "'html' is not supported"),
        ({"q": ENGLISH[0], "source": "en", "target": "xx"}, "en->xx"),  # the predictor's 400
        ({"q": ["ok", ""], "source": "en", "target": "es"}, "q[1] is empty"),
    ],
)
def test_errors_are_400_with_an_error_field(
    transformer: RunningTransformer, body: dict, message: str
) -> None:
    response = translate(transformer, json=body)
    assert response.status_code == 400, response.text
    assert list(response.json()) == ["error"]
    assert message in response.json()["error"]


def test_a_body_that_is_not_json_is_a_400(transformer: RunningTransformer) -> None:
    response = translate(
        transformer, content=b"{broken", headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert "not valid JSON" in response.json()["error"]
