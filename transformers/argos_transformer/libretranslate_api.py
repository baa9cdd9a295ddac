"""LibreTranslate-compatible routes on KServe's FastAPI app: `POST /translate` (JSON or form)
and `GET /languages`, so existing LibreTranslate clients work unchanged."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response

from argos_transformer import metrics
from argos_transformer.codecs.libretranslate import decode_libre, encode_libre
from argos_transformer.errors import InvalidInput, TransformerError
from argos_transformer.languages import LanguageCatalog
from argos_transformer.pipeline import TranslationPipeline
from argos_transformer.responses import error_response, json_response

log = logging.getLogger(__name__)

_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class LibreTranslateApi:
    def __init__(self, pipeline: TranslationPipeline, catalog: LanguageCatalog) -> None:
        self.pipeline = pipeline
        self.catalog = catalog

    def register(self, app: FastAPI) -> None:
        app.add_api_route("/translate", self.translate, methods=["POST"], tags=["LibreTranslate"])
        app.add_api_route("/languages", self.languages, methods=["GET"], tags=["LibreTranslate"])

    async def translate(self, request: Request) -> Response:
        try:
            try:
                libre = decode_libre(await _parameters(request), self.catalog)
            except TransformerError as exc:
                metrics.ERRORS.labels(exc.error_class).inc()
                raise
            translations = await self.pipeline.translate_job(libre.job, dict(request.headers))
        except TransformerError as exc:
            metrics.LIBRETRANSLATE_REQUESTS.labels("translate", str(exc.status)).inc()
            log.info("libretranslate_error status=%s error=%r", exc.status, exc.message)
            return error_response(exc)
        metrics.LIBRETRANSLATE_REQUESTS.labels("translate", "200").inc()
        return json_response(encode_libre(translations, libre.many))

    async def languages(self) -> Response:
        metrics.LIBRETRANSLATE_REQUESTS.labels("languages", "200").inc()
        return json_response(self.catalog.languages())


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
