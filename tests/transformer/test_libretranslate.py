"""LibreTranslate-compatible API on the transformer, against the real predictor: LibreTranslate's
request and answer shapes (JSON and form bodies, list `q`, `/detect`, `source: auto` with
`detectedLanguage`, `alternatives`, `format: html`, `/frontend/settings`), its Python client
libretranslatepy, and a 400 naming the field for every bad value; beyond LibreTranslate, the
model's confidence (`score`) when `return_scores` asks for it."""

from __future__ import annotations

import httpx
import pytest
from libretranslatepy import LibreTranslateAPI

from tests.conftest import DEMO_EXAMPLES
from tests.support.predictor import RunningPredictor
from tests.transformer.conftest import RunningTransformer, UpstreamTransformer
from tests.transformer.upstreams import RecordingUpstream

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


def test_source_auto_detects_the_language_and_says_so(transformer: RunningTransformer) -> None:
    response = translate(transformer, json={"q": ENGLISH[7], "source": "auto", "target": "es"})
    assert response.json() == {
        "translatedText": SPANISH[7],
        "detectedLanguage": {"confidence": 100.0, "language": "en"},
    }
    many = translate(transformer, data={"q": ENGLISH[5:7], "source": "auto", "target": "es"})
    detected = {"confidence": 100.0, "language": "en"}
    assert many.json() == {"translatedText": SPANISH[5:7], "detectedLanguage": [detected] * 2}


def test_source_auto_refuses_a_text_already_in_the_target_language(
    transformer: RunningTransformer,
) -> None:
    response = translate(transformer, json={"q": SPANISH[0], "source": "auto", "target": "es"})
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid request: source 'auto': the text is es (confidence 100), which does "
        "not translate into 'es'; languages that do: en"
    }


def test_detect_as_json_and_form_one_text_or_several(transformer: RunningTransformer) -> None:
    url = f"{transformer.base_url}/detect"
    assert httpx.post(url, json={"q": ENGLISH[0]}).json() == [
        {"confidence": 100.0, "language": "en"}
    ]
    assert httpx.post(url, data={"q": SPANISH[0], "api_key": "x"}).json() == [
        {"confidence": 100.0, "language": "es"}
    ]
    # several texts are detected together, as LibreTranslate does: best first, at most three
    assert httpx.post(url, json={"q": [SPANISH[0], *ENGLISH[1:3]]}).json() == [
        {"confidence": 82.0, "language": "en"},
        {"confidence": 18.0, "language": "es"},
    ]
    # nothing to tell languages apart: LibreTranslate's answer, English with confidence 0
    assert httpx.post(url, json={"q": "12345"}).json() == [{"confidence": 0.0, "language": "en"}]


def test_alternatives_as_libretranslate_gives_them(
    transformer: RunningTransformer, predictor: RunningPredictor
) -> None:
    response = translate(transformer, json={"q": ENGLISH[3], "source": "en", "target": "es",
                                            "alternatives": 2})
    answer = response.json()
    assert answer["translatedText"] == SPANISH[3]
    direct = httpx.post(
        f"{predictor.base_url}/v1/models/translator:predict",
        json={"instances": ENGLISH[2:4], "parameters": {"alternatives": 2}}, timeout=30,
    ).json()["predictions"]
    assert answer["alternatives"] == direct[1]["alternatives"]
    assert len(answer["alternatives"]) == 2
    assert SPANISH[3] not in answer["alternatives"]
    many = translate(
        transformer, data={"q": ENGLISH[2:4], "source": "en", "target": "es", "alternatives": "2"}
    )
    assert many.json() == {
        "translatedText": SPANISH[2:4],
        "alternatives": [prediction["alternatives"] for prediction in direct],
    }
    none_asked = translate(
        transformer, json={"q": ENGLISH[3], "source": "en", "target": "es", "alternatives": 0}
    )
    assert none_asked.json() == {"translatedText": SPANISH[3]}


def test_return_scores_adds_the_predictors_confidence_only_when_asked(
    transformer: RunningTransformer, predictor: RunningPredictor
) -> None:
    direct = httpx.post(
        f"{predictor.base_url}/v1/models/translator:predict",
        json={"instances": ENGLISH[:3], "parameters": {"return_scores": True}}, timeout=30,
    ).json()["predictions"]
    one = translate(
        transformer, json={"q": ENGLISH[0], "source": "en", "target": "es", "return_scores": True}
    ).json()
    assert list(one) == ["translatedText", "score"]
    assert one["translatedText"] == SPANISH[0]
    assert 0 < one["score"] <= 1
    assert one["score"] == pytest.approx(direct[0]["score"], rel=1e-6)
    many = translate(  # a form gives it as a string; with alternatives and auto too
        transformer,
        data={"q": ENGLISH[:3], "source": "auto", "target": "es", "return_scores": "true",
              "alternatives": "1"},
    ).json()
    assert list(many) == ["translatedText", "alternatives", "score", "detectedLanguage"]
    assert many["score"] == pytest.approx([p["score"] for p in direct], rel=1e-6)
    for not_asked in (False, "false", ""):
        answer = translate(transformer, data={"q": ENGLISH[0], "source": "en", "target": "es",
                                              "return_scores": not_asked})
        assert answer.json() == {"translatedText": SPANISH[0]}, answer.text


HTML = (
    '<p class="lead" title="a &amp; b">The small dog sleeps.</p>\n'
    "<ul>\n  <li><b>A girl reads the new book.</b> The houses are white.</li>\n"
    '  <li>These happy women sing.<br>The cat sees a beautiful flower. <img src="f.png" '
    'alt="The flower"></li>\n'
    "</ul><!-- My city is big. -->"
    '<script>var caption = "The cat";</script><code translate="no">x &lt; y</code>'
)


def test_html_keeps_tags_attributes_and_untranslated_parts(
    transformer: RunningTransformer,
) -> None:
    response = translate(
        transformer, json={"q": HTML, "source": "en", "target": "es", "format": "html"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "translatedText": (
            '<p class="lead" title="a &amp; b">El perro pequeño duerme.</p>\n'
            "<ul>\n  <li><b>Una niña lee el libro nuevo.</b> Las casas son blancas.</li>\n"
            '  <li>Estas mujeres felices cantan.<br>El gato ve una flor hermosa. <img src="f.png" '
            'alt="The flower"></li>\n'
            "</ul><!-- My city is big. -->"
            '<script>var caption = "The cat";</script><code translate="no">x &lt; y</code>'
        )
    }


def test_html_in_a_list_with_alternatives_and_auto(transformer: RunningTransformer) -> None:
    """Alternatives of HTML are not offered (LibreTranslate answers an empty list too)."""
    body = {"q": ["<i>My city is big.</i>", "<p>The houses are white.</p>"], "source": "auto",
            "target": "es", "format": "html", "alternatives": 1}
    detected = {"confidence": 100.0, "language": "en"}
    assert translate(transformer, json=body).json() == {
        "translatedText": [f"<i>{SPANISH[7]}</i>", f"<p>{SPANISH[2]}</p>"],
        "alternatives": [[], []],
        "detectedLanguage": [detected, detected],
    }


def test_frontend_settings(transformer: RunningTransformer) -> None:
    assert httpx.get(f"{transformer.base_url}/frontend/settings").json() == {
        "charLimit": 100_000,
        "frontendTimeout": 500,
        "apiKeys": False,
        "keyRequired": False,
        "suggestions": False,
        "filesTranslation": False,
        "supportedFilesFormat": [],
        "language": {
            "source": {"code": "auto", "name": "Auto Detect"},
            "target": {"code": "es", "name": "Spanish"},
        },
    }


def test_libretranslatepy_client(transformer: RunningTransformer) -> None:
    client = LibreTranslateAPI(transformer.base_url, api_key="not-needed")
    assert client.translate(ENGLISH[6], "en", "es") == SPANISH[6]
    assert client.translate(ENGLISH[4], "auto", "es") == SPANISH[4]
    assert client.detect(SPANISH[1]) == [{"confidence": 100.0, "language": "es"}]
    assert client.languages() == [
        {"code": "en", "name": "English", "targets": ["es"]},
        {"code": "es", "name": "Spanish", "targets": []},
    ]


def test_cors_as_libretranslate_sends_it(transformer: RunningTransformer) -> None:
    preflight = httpx.options(
        f"{transformer.base_url}/translate",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    answer = translate(transformer, json={"q": ENGLISH[0], "source": "en", "target": "es"})
    for response in (preflight, answer):
        assert response.headers["access-control-allow-origin"] == "*"
        assert response.headers["access-control-allow-methods"] == "GET, POST"


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
        ({"q": "Hi.", "source": "en", "target": "es", "format": "xml"}, "'xml' is not supported"),
        ({"q": ENGLISH[0], "source": "en", "target": "xx"}, "en->xx"),  # the predictor's 400
        ({"q": ["ok", ""], "source": "en", "target": "es"}, "q[1] is empty"),
        ({"q": "Hi.", "source": "en", "target": "es", "alternatives": -1},
         "Invalid request: alternatives parameter must be between 0 and 10, got -1"),
        ({"q": "Hi.", "source": "en", "target": "es", "alternatives": 11},
         "Invalid request: alternatives parameter must be between 0 and 10, got 11"),
        ({"q": "Hi.", "source": "en", "target": "es", "alternatives": "two"},
         "Invalid request: alternatives parameter is not a whole number: 'two'"),
        ({"q": "Hi.", "source": "en", "target": "es", "alternatives": [1]},
         "Invalid request: alternatives parameter is not a whole number: [1]"),
        ({"q": "<p>Hi <![ifx]>", "source": "en", "target": "es", "format": "html"},
         "Invalid request: q is HTML that cannot be read: unknown status keyword 'ifx' in "
         "marked section"),
        ({"q": ["<p>Hi</p>", "<![x]>"], "source": "en", "target": "es", "format": "html"},
         "Invalid request: q[1] is HTML that cannot be read"),
        ({"q": "Hi.", "source": "auto", "target": "fr"},
         "Invalid request: source 'auto': no configured language translates into 'fr'"),
        ({"q": "Hi.", "source": "en", "target": "es", "return_scores": "yes"},
         "Invalid request: return_scores parameter must be true or false, got 'yes'"),
        ({"q": "Hi.", "source": "en", "target": "es", "return_scores": 1},
         "Invalid request: return_scores parameter must be true or false, got 1"),
        ({"q": "<p>Hi.</p>", "source": "en", "target": "es", "format": "html",
          "return_scores": True},
         "Invalid request: return_scores is not available with format html"),
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


def test_form_values_are_checked_like_json_ones(transformer: RunningTransformer) -> None:
    response = translate(
        transformer, data={"q": "Hi.", "source": "en", "target": "es", "alternatives": "-2"}
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "Invalid request: alternatives parameter must be between 0 and 10, got -2"
    }


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Invalid request: missing q parameter"),
        ({"q": ""}, "Invalid request: missing q parameter"),
        ({"q": []}, "Invalid request: missing q parameter"),
        ({"q": ["Hi.", " "]}, "q[1] is empty"),
        ({"q": 42}, "q must be a string, got int"),
    ],
)
def test_detect_errors_are_400_naming_the_field(
    transformer: RunningTransformer, body: dict, message: str
) -> None:
    response = httpx.post(f"{transformer.base_url}/detect", json=body)
    assert response.status_code == 400, response.text
    assert response.json() == {"error": message}


# --- HTML structure, against the recording upstream (it upper-cases) -----------------------


def libre_html(transformer: RunningTransformer, q: str | list[str]) -> str | list[str]:
    response = translate(
        transformer, json={"q": q, "source": "en", "target": "es", "format": "html"}
    )
    assert response.status_code == 200, response.text
    return response.json()["translatedText"]


def sent(upstream: RecordingUpstream) -> list[str]:
    return [text for r in upstream.infer_requests() for text in r.body["instances"]]


def test_html_sentences_stay_whole_and_inline_tags_find_their_words(
    via_upstream: UpstreamTransformer, upstream: RecordingUpstream
) -> None:
    transformer = via_upstream("v1")
    html = '<p>Go <a href="/x?a=1&amp;b=2">home</a> &amp; <b>rest</b>\n  now.</p>'
    assert libre_html(transformer, html) == (
        '<p>GO <a href="/x?a=1&amp;b=2">HOME</a> &amp; <b>REST</b> NOW.</p>'
    )
    # one text per run (whitespace collapsed), then each inline element's own text
    assert sent(upstream) == ["Go home & rest now.", "home", "rest"]


def test_html_tags_that_do_not_nest_fall_back_to_text_nodes(
    via_upstream: UpstreamTransformer, upstream: RecordingUpstream
) -> None:
    transformer = via_upstream("v2")
    assert libre_html(transformer, "<p>one <b>two <i>three</b> four</i></p>") == (
        "<p>ONE <b>TWO <i>THREE</b> FOUR</i></p>"
    )
    first, *fallback = [r.body["inputs"][0]["data"] for r in upstream.infer_requests()]
    assert first == ["one two three four"]
    # the text nodes, in calls of at most 3 texts that run concurrently (in any order)
    assert sorted(text for texts in fallback for text in texts) == ["four", "one", "three", "two"]


def test_html_entities_whitespace_void_and_unterminated_markup(
    via_upstream: UpstreamTransformer,
) -> None:
    transformer = via_upstream("v1")
    assert libre_html(transformer, [
        "  caf&eacute; &lt;ok&gt;\n",  # references are read, the translation escaped
        "<p>a<br/>b<hr>c<wbr>d</p>",  # void elements are boundaries
        "<p>12 &amp; 34</p><p>text <script>if (a < b) { x = '<p>'; }",  # no letters; open script
        "<textarea>Keep\n  lines</textarea>",
    ]) == [
        "  CAFÉ &lt;OK&gt;\n",
        "<p>A<br/>B<hr>C<wbr>D</p>",
        "<p>12 &amp; 34</p><p>TEXT <script>if (a < b) { x = '<p>'; }",
        "<textarea>KEEP\nLINES</textarea>",
    ]


def test_html_with_more_texts_than_a_request_may_hold(
    via_upstream: UpstreamTransformer, upstream: RecordingUpstream
) -> None:
    """The upstream transformer takes 16 texts per request: a list of 20 items still works."""
    transformer = via_upstream("v1")
    items = [f"item {n}" for n in range(20)]
    html = "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"
    expected = "<ul>" + "".join(f"<li>{item.upper()}</li>" for item in items) + "</ul>"
    assert libre_html(transformer, html) == expected
    assert sorted(sent(upstream)) == sorted(items)


def test_limits_apply_to_detect_too(via_upstream: UpstreamTransformer) -> None:
    transformer = via_upstream("v1")
    response = httpx.post(f"{transformer.base_url}/detect", json={"q": "word " * 81})
    assert response.status_code == 413
    assert response.json() == {"error": "405 characters in one request; the limit is 400"}
