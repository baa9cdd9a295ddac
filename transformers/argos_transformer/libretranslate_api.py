"""LibreTranslate-compatible routes on KServe's FastAPI app, so that LibreTranslate's clients
work by changing the URL: `POST /translate` and `POST /detect` (JSON, urlencoded or multipart
form), `GET /languages`, `GET /frontend/settings`; CORS headers as LibreTranslate sends them.
Shapes: `codecs/libretranslate.py`; detection: `language_detection.py`; HTML: `html_text.py`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response

from argos_protocol import TextTranslation
from argos_transformer import metrics
from argos_transformer.codecs.job import TranslationJob
from argos_transformer.codecs.libretranslate import (
    decode_libre,
    decode_q,
    encode_libre,
)
from argos_transformer.errors import InputTooLarge, InvalidInput, TransformerError
from argos_transformer.html_text import HtmlError, HtmlFragment, translate_fragments
from argos_transformer.language_detection import Detection, LanguageDetector
from argos_transformer.languages import LANGUAGE_NAMES, LanguageCatalog
from argos_transformer.pipeline import TranslationPipeline
from argos_transformer.responses import json_response, refused

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# LibreTranslate answers every request with these (browser clients rely on them).
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Expose-Headers": "Authorization",
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Credentials": "true",
    "Access-Control-Max-Age": str(60 * 60 * 24 * 20),
}
FRONTEND_TIMEOUT_MS = 500  # LibreTranslate's default


class LibreTranslateApi:
    def __init__(
        self,
        pipeline: TranslationPipeline,
        catalog: LanguageCatalog,
        detector: LanguageDetector | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.catalog = catalog
        self.detector = detector or LanguageDetector(catalog.codes)

    def register(self, app: FastAPI) -> None:
        routes: dict[str, tuple[str, Callable[..., Awaitable[Response]]]] = {
            "/translate": ("POST", self.translate),
            "/detect": ("POST", self.detect),
            "/languages": ("GET", self.languages),
            "/frontend/settings": ("GET", self.frontend_settings),
        }
        for path, (method, endpoint) in routes.items():
            app.add_api_route(path, endpoint, methods=[method], tags=["LibreTranslate"])
            app.add_api_route(
                path, self.preflight, methods=["OPTIONS"], include_in_schema=False
            )

    async def translate(self, request: Request) -> Response:
        return await self._answer("translate", self._translate(request))

    async def detect(self, request: Request) -> Response:
        return await self._answer("detect", self._detect(request))

    async def languages(self) -> Response:
        return self._ok("languages", self.catalog.languages())

    async def frontend_settings(self) -> Response:
        """What LibreTranslate's web UI and clients read first: limits, whether keys are
        needed (never here), the default source (`auto`) and target."""
        target = self.catalog.pairs[0][1]
        settings = {
            "charLimit": self.pipeline.limits.max_request_chars,
            "frontendTimeout": FRONTEND_TIMEOUT_MS,
            "apiKeys": False,
            "keyRequired": False,
            "suggestions": False,
            "filesTranslation": False,
            "supportedFilesFormat": [],
            "language": {
                "source": {"code": "auto", "name": "Auto Detect"},
                "target": {"code": target, "name": LANGUAGE_NAMES.get(target, target)},
            },
        }
        return self._ok("frontend_settings", settings)

    async def preflight(self) -> Response:
        return Response(status_code=200, headers=CORS_HEADERS)

    async def _answer(self, endpoint: str, work: Awaitable[Any]) -> Response:
        try:
            content = await work
        except TransformerError as exc:
            metrics.LIBRETRANSLATE_REQUESTS.labels(endpoint, str(exc.status)).inc()
            response = refused(f"/{endpoint}", exc)
            response.headers.update(CORS_HEADERS)
            return response
        return self._ok(endpoint, content)

    def _ok(self, endpoint: str, content: Any) -> Response:
        metrics.LIBRETRANSLATE_REQUESTS.labels(endpoint, "200").inc()
        return json_response(content, headers=CORS_HEADERS)

    async def _translate(self, request: Request) -> dict[str, Any]:
        try:
            libre = decode_libre(await _parameters(request))
            self._check_size(libre.texts)
            fragments = _fragments(libre.texts) if libre.html else None
            detected = None
            source = libre.source
            if source is None:
                plain = [f.plain_text() for f in fragments] if fragments else libre.texts
                source, detected = self._source_for(self.detector.detect(plain), libre.target)
        except TransformerError as exc:
            metrics.ERRORS.labels(exc.error_class).inc()
            raise
        headers = dict(request.headers)
        if fragments is not None:
            translate = self._html_translate(source, libre.target, headers)
            results = [
                TextTranslation(text)
                for text in await translate_fragments(fragments, translate)
            ]
        else:
            job = libre.job(source)
            if job.options.plain:
                translations = await self.pipeline.translate_job(job, headers)
                results = [TextTranslation(text) for text in translations]
            else:
                results = await self.pipeline.translate_results(job, headers)
        return encode_libre(libre, results, detected)

    async def _detect(self, request: Request) -> list[dict[str, Any]]:
        try:
            texts, _ = decode_q(await _parameters(request))
            self._check_size(texts)
        except TransformerError as exc:
            metrics.ERRORS.labels(exc.error_class).inc()
            raise
        return [detection.as_json() for detection in self.detector.detect(texts)]

    def _check_size(self, texts: Sequence[str]) -> None:
        limits = self.pipeline.limits
        if len(texts) > limits.max_texts:
            raise InputTooLarge(
                f"{len(texts)} texts in one request; the limit is {limits.max_texts}"
            )
        total = sum(len(text) for text in texts)
        if total > limits.max_request_chars:
            raise InputTooLarge(
                f"{total} characters in one request; the limit is {limits.max_request_chars}"
            )

    def _source_for(
        self, detections: list[Detection], target: str
    ) -> tuple[str, dict[str, Any]]:
        """The source language to translate from, and `detectedLanguage` as LibreTranslate
        reports it: the likeliest language that translates into `target`."""
        sources = self.catalog.sources_for(target)
        if not sources:
            raise InvalidInput(
                f"Invalid request: source 'auto': no configured language translates into "
                f"{target!r}"
            )
        best = detections[0]
        if best.confidence == 0:  # nothing to tell the languages apart
            return sources[0], {"confidence": 0.0, "language": sources[0]}
        for code in best.codes:
            if code in sources:
                return code, {"confidence": best.confidence, "language": code}
        raise InvalidInput(
            f"Invalid request: source 'auto': the text is {best.language} (confidence "
            f"{best.confidence:g}), which does not translate into {target!r}; languages "
            f"that do: {', '.join(sources)}"
        )

    def _html_translate(
        self, source: str, target: str, headers: Mapping[str, str]
    ) -> Callable[[list[str]], Awaitable[list[str]]]:
        """Translate any number of texts of HTML fragments in jobs within the pipeline's
        limits (a fragment may have more texts than a request), one job after the other, so
        that one large page does not fill the queue of predictor calls (503) by itself."""
        limits = self.pipeline.limits

        async def translate(texts: list[str]) -> list[str]:
            jobs, chunk, chars = [], [], 0
            for text in texts:
                if chunk and (
                    len(chunk) == limits.max_texts or chars + len(text) > limits.max_request_chars
                ):
                    jobs.append(chunk)
                    chunk, chars = [], 0
                chunk.append(text)
                chars += len(text)
            jobs.append(chunk)
            translated: list[str] = []
            for job in jobs:
                translated += await self.pipeline.translate_job(
                    TranslationJob(tuple(job), source, target), headers
                )
            return translated

        return translate


def _fragments(texts: Sequence[str]) -> list[HtmlFragment]:
    fragments = []
    for index, text in enumerate(texts):
        try:
            fragments.append(HtmlFragment(text))
        except HtmlError as exc:
            where = f"q[{index}]" if len(texts) > 1 else "q"
            raise InvalidInput(
                f"Invalid request: {where} is HTML that cannot be read: {exc}"
            ) from exc
    return fragments


async def _parameters(request: Request) -> dict[str, Any]:
    """The request's fields from a JSON body or a form (a repeated `q` becomes a list)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in _FORM_TYPES:
        try:
            form = await request.form()
        except Exception as exc:  # starlette raises several types for bad forms
            raise InvalidInput(f"Invalid request: unreadable form body: {exc}") from exc
        values: dict[str, Any] = {}
        for name in form:
            items = [v for v in form.getlist(name) if isinstance(v, str)]
            if items:
                values[name] = items if name == "q" and len(items) > 1 else items[0]
        return values
    body = await request.body()
    if not body.strip():
        return dict(request.query_params)
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidInput(f"Invalid request: body is not valid JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise InvalidInput("Invalid request: body must be a JSON object")
    return document
