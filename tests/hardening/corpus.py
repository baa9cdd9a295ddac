"""A deterministic corpus of malformed HTTP requests for the predictor and the transformer.

Each request starts from a valid body of one protocol (V1, V2 REST, LibreTranslate, CloudEvent
binary and structured) and breaks it one way: truncated JSON at every byte, a field replaced by
a value of the wrong type, huge or invalid-UTF-8 strings, NaN/Infinity literals, deep nesting,
wrong content types, 10k-item batches. Every request is distinct (deduplicated by its bytes).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

V1_PATH = "/v1/models/translator:predict"
V2_PATH = "/v2/models/translator/infer"
LIBRETRANSLATE_PATH = "/translate"
JSON = {"content-type": "application/json"}
CLOUDEVENT_HEADERS = {
    "ce-specversion": "1.0",
    "ce-id": "partition:0/offset:1",
    "ce-source": "/apis/v1/namespaces/demo/kafkasources/texts#texts",
    "ce-type": "dev.knative.kafka.event",
}


@dataclass(frozen=True)
class BadRequest:
    name: str
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))

    def key(self) -> tuple:
        return (self.path, self.body, tuple(sorted(self.headers.items())))


# Values of the wrong type (or out of range) that replace one field of a valid body.
WRONG_VALUES: list[Any] = [
    None,
    0,
    -1,
    1.5,
    True,
    "",
    "x",
    [],
    {},
    [None],
    [[["deep"]]],
    {"nested": {"garbage": [1, {"x": None}]}},
    "\u0000",
    "a" * 100_001,
]

V1_VALID = {"instances": ["The cat sleeps.", {"text": "My city is big.", "target": "es"}]}
V2_VALID = {
    "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": ["My city is big."]}],
    "parameters": {"source": "en", "target": "es"},
}
LIBRETRANSLATE_VALID = {"q": "My city is big.", "source": "en", "target": "es"}
STRUCTURED_EVENT_VALID = {
    "specversion": "1.0",
    "id": "partition:0/offset:1",
    "source": "/apis/v1/namespaces/demo/kafkasources/texts#texts",
    "type": "dev.knative.kafka.event",
    "datacontenttype": "application/json",
    "data": {"text": "My city is big."},
}


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def _paths(value: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every location (key/index path) inside a JSON value, the root excluded."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield (*prefix, key)
        yield from _paths(child, (*prefix, key))


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    result = copy.deepcopy(value)
    target = result
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return result


def _is_still_valid(path: tuple, new: Any) -> bool:
    """Replacements the servers accept by design, so they are not bad input (skipped)."""
    leaf = path[-1]
    parent = path[-2] if len(path) > 1 else None
    a_text = isinstance(new, str) and len(new) <= 10_000
    text_slot = (
        leaf in ("text", "q")
        or parent == "data"
        or path == ("data",)  # a CloudEvent's data may be the text itself
        or (path[0] == "instances" and len(path) == 2)
    )
    lenient = (
        # A missing or empty language code means the server's default pair.
        leaf in ("source", "target") and new in (None, ""),
        path[0] == "parameters" and new in ({}, None),
        # An empty batch is an empty answer.
        leaf == "instances" and new == [],
        # Any string up to the length limit is a text, wherever a text (or text object) goes.
        a_text and text_slot,
        # V2 JSON tensors may nest their data; JSON true is the integer 1 in a shape.
        (leaf == "data" or parent == "data") and new == [[["deep"]]],
        parent == "shape" and new is True,
    )
    return any(lenient)


def truncations(name: str, path: str, body: bytes, headers: dict[str, str]) -> list[BadRequest]:
    """The body cut at every byte (each prefix of a JSON object is invalid JSON)."""
    return [
        BadRequest(f"{name}: truncated at {cut}", path, body[:cut], headers)
        for cut in range(0, len(body) - 1)
    ]


def wrong_types(name: str, path: str, valid: dict, headers: dict[str, str]) -> list[BadRequest]:
    requests = []
    for location in _paths(valid):
        for new in WRONG_VALUES:
            if _is_still_valid(location, new):
                continue
            label = "/".join(str(part) for part in location)
            requests.append(
                BadRequest(
                    f"{name}: {label} = {type(new).__name__} {str(new)[:20]!r}",
                    path,
                    _dumps(_replaced(valid, location, new)),
                    headers,
                )
            )
    return requests


def raw_bodies(name: str, path: str, headers: dict[str, str]) -> list[BadRequest]:
    """Bodies that no JSON encoder would produce."""
    raw = {
        "empty": b"",
        "whitespace": b"   \n\t ",
        "null": b"null",
        "number": b"42",
        "string": b'"The cat sleeps."',
        "list": b'["The cat sleeps."]',
        "NaN": b'{"instances": [NaN], "inputs": NaN, "q": NaN}',
        "Infinity": b'{"instances": [Infinity], "q": -Infinity}',
        "invalid utf-8 in string": b'{"instances": ["\xff\xfe\xfa"], "q": "\xc3\x28"}',
        "invalid utf-8 bare": b"\xff\xfe\x00\x01garbage",
        "utf-16 bom": '{"instances": ["a"]}'.encode("utf-16"),
        "lone surrogate escape": b'{"instances": ["\\ud800"], "q": "\\udfff"}',
        "deep nesting": b'{"instances": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "deep objects": b'{"q": ' + b'{"a": ' * 2000 + b"1" + b"}" * 2001,
        "trailing garbage": b'{"instances": ["a"]} trailing',
        "two documents": b'{"instances": ["a"]}{"instances": ["b"]}',
        "single quotes": b"{'instances': ['a']}",
        "comments": b'{"instances": ["a"] /* comment */}',
        "control chars": b'{"instances": ["a\x01\x02"]}',
        "huge number": b'{"instances": [1' + b"0" * 5000 + b"]}",
        "xml": b"<instances><i>a</i></instances>",
        "form": b"instances=a&instances=b",
        "binary zeros": b"\x00" * 1024,
    }
    return [BadRequest(f"{name}: {label}", path, body, headers) for label, body in raw.items()]


def wrong_content_types(name: str, path: str, body: bytes) -> list[BadRequest]:
    """A broken body sent with every content type a client might get wrong."""
    types = [
        "text/plain",
        "application/xml",
        "application/octet-stream",
        "multipart/form-data; boundary=xyz",
        "application/x-www-form-urlencoded",
        "application/json; charset=latin-1",
        "image/png",
        "",
    ]
    return [
        BadRequest(f"{name}: {kind or 'no'} content type", path, body, {"content-type": kind})
        for kind in types
    ]


def batches(name: str, path: str, make_body: Any, headers: dict[str, str]) -> list[BadRequest]:
    """Too many texts and too long texts (huge strings), each over the server's limits."""
    return [
        BadRequest(f"{name}: 10k-item batch", path, _dumps(make_body(["a"] * 10_000)), headers),
        BadRequest(f"{name}: 257 items", path, _dumps(make_body(["a"] * 257)), headers),
        BadRequest(f"{name}: 1 MB text", path, _dumps(make_body(["x" * 1_000_000])), headers),
        BadRequest(f"{name}: 10001-char text", path, _dumps(make_body(["é" * 10_001])), headers),
    ]


def v1_body(texts: list[str]) -> dict:
    return {"instances": texts}


def v2_body(texts: list[str]) -> dict:
    return {"inputs": [{"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": texts}]}


def v2_specials() -> list[BadRequest]:
    """V2 tensor mistakes that type replacement alone does not produce."""
    cases = {
        "FP32 datatype": {"name": "text", "datatype": "FP32", "shape": [1], "data": [1.0]},
        "unknown datatype": {"name": "text", "datatype": "STRING", "shape": [1], "data": ["a"]},
        "2-D shape": {"name": "text", "datatype": "BYTES", "shape": [1, 2], "data": ["a", "b"]},
        "shape too large": {"name": "text", "datatype": "BYTES", "shape": [9], "data": ["a"]},
        "negative shape": {"name": "text", "datatype": "BYTES", "shape": [-1], "data": ["a"]},
        "3-D shape": {"name": "text", "datatype": "BYTES", "shape": [1, 1, 1], "data": ["a"]},
        "missing data": {"name": "text", "datatype": "BYTES", "shape": [1]},
        "missing datatype": {"name": "text", "shape": [1], "data": ["a"]},
        "missing shape": {"name": "text", "datatype": "BYTES", "data": ["a"]},
        "wrong input name": {"name": "txt", "datatype": "BYTES", "shape": [1], "data": ["a"]},
    }
    requests = [
        BadRequest(f"v2: {label}", V2_PATH, _dumps({"inputs": [tensor]}))
        for label, tensor in cases.items()
    ]
    requests.append(BadRequest("v2: no inputs", V2_PATH, _dumps({"inputs": []})))
    requests.append(BadRequest("v2: no inputs key", V2_PATH, _dumps({"outputs": []})))
    text = {"name": "text", "datatype": "BYTES", "shape": [1], "data": ["a"]}
    requests.append(BadRequest("v2: duplicated input", V2_PATH, _dumps({"inputs": [text, text]})))
    for pair in ({"source": "en", "target": "zz"}, {"source": "zz", "target": "es"}):
        body = _dumps({"inputs": [text], "parameters": pair})
        requests.append(BadRequest(f"v2: unknown pair {pair}", V2_PATH, body))
    binary = {"inference-header-content-length": "9999", "content-type": "application/json"}
    requests.append(BadRequest("v2: binary header longer than body", V2_PATH, b"{}", binary))
    binary = {"inference-header-content-length": "abc", "content-type": "application/json"}
    requests.append(BadRequest("v2: binary header not a number", V2_PATH, b"{}", binary))
    return requests


def predictor_corpus() -> list[BadRequest]:
    v1 = _dumps(V1_VALID)
    v2 = _dumps(V2_VALID)
    requests = [
        *truncations("v1", V1_PATH, v1, JSON),
        *truncations("v2", V2_PATH, v2, JSON),
        *wrong_types("v1", V1_PATH, V1_VALID, JSON),
        *wrong_types("v2", V2_PATH, V2_VALID, JSON),
        *raw_bodies("v1", V1_PATH, JSON),
        *raw_bodies("v2", V2_PATH, JSON),
        *wrong_content_types("v1", V1_PATH, v1[:-3]),
        *wrong_content_types("v2", V2_PATH, v2[:-3]),
        *batches("v1", V1_PATH, v1_body, JSON),
        *batches("v2", V2_PATH, v2_body, JSON),
        *v2_specials(),
        BadRequest(
            "v1: unknown pair", V1_PATH, _dumps({"instances": [{"text": "a", "target": "zz"}]})
        ),
        BadRequest("v1: unknown field", V1_PATH, _dumps({"instances": [{"text": "a", "x": 1}]})),
    ]
    return _distinct(requests)


def transformer_corpus() -> list[BadRequest]:
    """LibreTranslate and CloudEvent requests (and V1, which the transformer also serves)."""
    libre = _dumps(LIBRETRANSLATE_VALID)
    structured = _dumps(STRUCTURED_EVENT_VALID)
    structured_headers = {"content-type": "application/cloudevents+json"}
    binary_headers = {**CLOUDEVENT_HEADERS, "content-type": "application/json"}
    event_data = _dumps({"text": "My city is big.", "target": "es"})
    requests = [
        *truncations("libretranslate", LIBRETRANSLATE_PATH, libre, JSON),
        *wrong_types("libretranslate", LIBRETRANSLATE_PATH, LIBRETRANSLATE_VALID, JSON),
        *raw_bodies("libretranslate", LIBRETRANSLATE_PATH, JSON),
        *truncations("cloudevent structured", V1_PATH, structured, structured_headers),
        *structured_event_attributes(structured_headers),
        *truncations("cloudevent binary", V1_PATH, event_data, binary_headers),
        *wrong_types("transformer v1", V1_PATH, V1_VALID, JSON),
        BadRequest(
            "libretranslate: 10k-item batch",
            LIBRETRANSLATE_PATH,
            _dumps({**LIBRETRANSLATE_VALID, "q": ["a"] * 10_000}),
        ),
        BadRequest(
            "libretranslate: 1 MB text",
            LIBRETRANSLATE_PATH,
            _dumps({**LIBRETRANSLATE_VALID, "q": "x" * 1_000_000}),
        ),
    ]
    return _distinct(requests)


def structured_event_attributes(headers: dict[str, str]) -> list[BadRequest]:
    """Structured events with broken data, or a required attribute missing or not a string.

    (The CloudEvents SDK turns a number or object given as id/source/type into its string, so
    only null and a wrong specversion are bad there.)
    """
    name = "cloudevent structured"
    requests = [
        request
        for request in wrong_types(name, V1_PATH, STRUCTURED_EVENT_VALID, headers)
        if request.name.startswith((f"{name}: data =", f"{name}: data/"))
    ]
    body = STRUCTURED_EVENT_VALID
    for attribute in ("specversion", "id", "source", "type"):
        missing = {k: v for k, v in body.items() if k != attribute}
        requests.append(BadRequest(f"{name}: no {attribute}", V1_PATH, _dumps(missing), headers))
        for new in (None, [], {}, 0) if attribute == "specversion" else (None,):
            requests.append(
                BadRequest(
                    f"{name}: {attribute} = {new!r}",
                    V1_PATH,
                    _dumps({**body, attribute: new}),
                    headers,
                )
            )
    return requests


def _distinct(requests: list[BadRequest]) -> list[BadRequest]:
    seen: dict[tuple, BadRequest] = {}
    for request in requests:
        seen.setdefault(request.key(), request)
    return list(seen.values())
