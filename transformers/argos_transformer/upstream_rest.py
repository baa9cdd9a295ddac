"""Calls to the predictor over REST (KServe V1 or Open Inference Protocol V2), with every
failure turned into a typed error from `argos_transformer.errors`.

aiohttp rather than httpx: on loopback its per-call overhead measured ~0.6 ms against
~2.5-7 ms for httpx's async client, and the transformer's budget is 2 ms per request.
"""

from __future__ import annotations

import os
import ssl
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp
import orjson

from argos_protocol import TextTranslation, TranslationOptions
from argos_protocol.explain import EXPLANATIONS
from argos_protocol.v2 import flatten
from argos_transformer import predictor_options
from argos_transformer.errors import (
    PredictorFailed,
    PredictorOverloaded,
    PredictorRejected,
    PredictorTimeout,
    PredictorUnavailable,
    TransformerError,
)

_JSON = {"content-type": "application/json"}
_MAX_MESSAGE_CHARS = 1000


class RestTransport:
    """One pooled aiohttp session bound to the event loop that created it."""

    def __init__(
        self,
        base_url: str,
        model_name: str,
        v2: bool,
        timeout_s: float,
        retry_after_s: float,
        max_connections: int = 200,
    ) -> None:
        self.base_url = base_url
        self.model_name = model_name
        self.v2 = v2
        self.retry_after_s = retry_after_s
        self._infer_url = base_url + (
            f"/v2/models/{model_name}/infer" if v2 else f"/v1/models/{model_name}:predict"
        )
        self._explain_url = base_url + f"/v1/models/{model_name}:explain"
        self._ready_url = base_url + (
            f"/v2/models/{model_name}/ready" if v2 else f"/v1/models/{model_name}"
        )
        ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(
                limit=max_connections,
                ssl=ssl.create_default_context(cafile=ca_bundle) if ca_bundle else True,
            ),
            timeout=aiohttp.ClientTimeout(total=timeout_s, connect=min(timeout_s, 10.0)),
        )

    async def infer(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        headers: Mapping[str, str],
    ) -> list[str]:
        document = await self._post(
            self._infer_url, self._body(texts, source, target, headers), headers
        )
        translations = _v2_translations(document) if self.v2 else _v1_translations(document)
        return _checked(translations, len(texts))

    async def infer_results(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        options: TranslationOptions,
        headers: Mapping[str, str],
    ) -> list[TextTranslation]:
        """Like `infer`, asking for the alternatives and scores of `options`."""
        body = self._body(texts, source, target, headers)
        body.setdefault("parameters", {}).update(predictor_options.parameters(options))
        document = await self._post(self._infer_url, body, headers)
        if self.v2:
            return predictor_options.from_v2_outputs(_v2_outputs(document), len(texts), options)
        return predictor_options.from_v1_predictions(
            _v1_translations(document), len(texts), options
        )

    async def explain(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        headers: Mapping[str, str],
    ) -> list[dict[str, Any]]:
        """The predictor's V1 `:explain` answer for `texts`: one explanation object per text,
        as the predictor wrote it (the transformer adds nothing to an explanation)."""
        document = await self._post(self._explain_url, _v1_body(texts, source, target), headers)
        explanations = document.get(EXPLANATIONS) if isinstance(document, dict) else None
        if not isinstance(explanations, list) or len(explanations) != len(texts):
            count = len(explanations) if isinstance(explanations, list) else "no list of"
            raise PredictorFailed(
                f"predictor answered {count} explanations for {len(texts)} texts"
            )
        if not all(isinstance(explanation, dict) for explanation in explanations):
            raise PredictorFailed("predictor answered an explanation that is not an object")
        return explanations

    def _body(
        self,
        texts: Sequence[str],
        source: str | None,
        target: str | None,
        headers: Mapping[str, str],
    ) -> dict[str, Any]:
        if self.v2:
            return _v2_body(texts, source, target, headers.get("x-request-id"))
        return _v1_body(texts, source, target)

    async def _post(self, url: str, body: dict, headers: Mapping[str, str]) -> Any:
        """The predictor's JSON answer to `body` (a typed error for anything but a 200)."""
        data, request_headers = orjson.dumps(body), {**headers, **_JSON}
        for attempt in (1, 2):
            try:
                async with self._session.post(
                    url, data=data, headers=request_headers
                ) as response:
                    content = await response.read()
                    status, response_headers = response.status, response.headers
                break
            except aiohttp.ServerDisconnectedError as exc:
                # A pooled keep-alive connection the predictor had just closed: translating
                # (and explaining) is safe to repeat, so try once more on a fresh connection.
                if attempt == 2:
                    raise self._transport_error(exc) from exc
            except aiohttp.ClientError as exc:
                raise self._transport_error(exc) from exc
        if status != 200:
            raise _status_error(status, content, response_headers, self.retry_after_s)
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise PredictorFailed(f"predictor answered invalid JSON: {exc}") from exc

    async def ready(self, timeout_s: float) -> bool:
        try:
            async with self._session.get(
                self._ready_url, timeout=aiohttp.ClientTimeout(total=timeout_s)
            ) as response:
                if response.status != 200:
                    return False
                return orjson.loads(await response.read()).get("ready") is True
        except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError, AttributeError):
            return False

    async def aclose(self) -> None:
        await self._session.close()

    def _transport_error(self, exc: aiohttp.ClientError) -> TransformerError:
        where = f"predictor at {self.base_url}"
        if isinstance(exc, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
            return PredictorUnavailable(f"{where} is unreachable: {_describe(exc)}",
                                        self.retry_after_s)
        if isinstance(exc, aiohttp.ServerTimeoutError):
            return PredictorTimeout(f"{where} did not answer in time: {_describe(exc)}")
        if isinstance(exc, aiohttp.ClientConnectionError):
            return PredictorUnavailable(
                f"connection to {where} failed: {_describe(exc)}", self.retry_after_s
            )
        return PredictorFailed(f"calling the {where} failed: {_describe(exc)}")


def _v2_body(
    texts: Sequence[str], source: str | None, target: str | None, request_id: str | None
) -> dict:
    body: dict[str, Any] = {
        # An id correlates the call in the predictor's logs (and some servers require one).
        "id": request_id or uuid.uuid4().hex,
        "inputs": [
            {"name": "text", "datatype": "BYTES", "shape": [len(texts)], "data": list(texts)}
        ],
    }
    parameters = _pair_parameters(source, target)
    if parameters:
        body["parameters"] = parameters
    return body


def _v1_body(texts: Sequence[str], source: str | None, target: str | None) -> dict:
    body: dict[str, Any] = {"instances": list(texts)}
    parameters = _pair_parameters(source, target)
    if parameters:
        body["parameters"] = parameters
    return body


def _pair_parameters(source: str | None, target: str | None) -> dict[str, str]:
    parameters = {}
    if source:
        parameters["source"] = source
    if target:
        parameters["target"] = target
    return parameters


def _v1_translations(document: Any) -> Any:
    if not isinstance(document, dict) or "predictions" not in document:
        raise PredictorFailed("predictor answered without 'predictions'")
    return document["predictions"]


def _v2_translations(document: Any) -> Any:
    for output in _v2_output_list(document):
        if isinstance(output, dict) and output.get("name") == "translation":
            return output.get("data")
    raise PredictorFailed("predictor answered without a 'translation' output")


def _v2_outputs(document: Any) -> dict[str, list[Any]]:
    """Every output's flat values by name."""
    outputs = {}
    for output in _v2_output_list(document):
        data = output.get("data") if isinstance(output, dict) else None
        if not isinstance(data, list):
            raise PredictorFailed("predictor answered an output without a 'data' list")
        outputs[str(output.get("name"))] = flatten(data)
    return outputs


def _v2_output_list(document: Any) -> list[Any]:
    outputs = document.get("outputs") if isinstance(document, dict) else None
    if not isinstance(outputs, list):
        raise PredictorFailed("predictor answered without 'outputs'")
    return outputs


def _checked(translations: Any, expected: int) -> list[str]:
    if not isinstance(translations, list) or len(translations) != expected:
        count = len(translations) if isinstance(translations, list) else "no list of"
        raise PredictorFailed(f"predictor answered {count} translations for {expected} texts")
    if not all(isinstance(t, str) for t in translations):
        raise PredictorFailed("predictor answered a translation that is not a string")
    return translations


def _status_error(
    status: int, content: bytes, headers: Mapping[str, str], default_retry_after_s: float
) -> TransformerError:
    message = error_message(content) or f"HTTP {status}"
    retry_after = _retry_after(headers.get("retry-after"), default_retry_after_s)
    if status == 429:
        return PredictorOverloaded(message, 429, retry_after)
    if status == 503:
        if "overload" in message.lower():
            return PredictorOverloaded(message, 503, retry_after)
        return PredictorUnavailable(f"predictor is unavailable: {message}", retry_after)
    if status in (408, 504):
        return PredictorTimeout(f"predictor timed out (HTTP {status}): {message}")
    if 400 <= status < 500:
        return PredictorRejected(status, message)
    return PredictorFailed(f"predictor failed with HTTP {status}: {message}")


def error_message(content: bytes) -> str:
    """The message of an error body: KServe's {"error"}, FastAPI's {"detail"}, or the text."""
    try:
        document = orjson.loads(content)
    except orjson.JSONDecodeError:
        return content.decode("utf-8", errors="replace").strip()[:_MAX_MESSAGE_CHARS]
    if isinstance(document, dict):
        for key in ("error", "detail", "message"):
            if key in document:
                value = document[key]
                return (value if isinstance(value, str) else orjson.dumps(value).decode())[
                    :_MAX_MESSAGE_CHARS
                ]
    return orjson.dumps(document).decode()[:_MAX_MESSAGE_CHARS]


def _retry_after(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value else default
    except ValueError:
        return default


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
