"""The KServe model of the transformer: decode any accepted request into a job (preprocess),
translate it through the pipeline (predict), encode the answer like the request (postprocess).

KServe's ModelServer runs it; the request reaches `preprocess` as a V1 dict/list/str, raw bytes
(non-JSON content type), an `InferRequest` (V2 REST and gRPC) or a `CloudEvent`
(see `TransformerDataPlane`).

KServe's `:explain` verb runs preprocess, `explain`, postprocess. KServe's own `explain` posts to
an `explainer_host`; here the predictor is the explainer (it serves `:explain` itself), so
`explain` asks it through the same client and pipeline as `predict`: same headers forwarded,
deadline, limits and typed errors.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from cloudevents.http import CloudEvent
from kserve import Model
from kserve.protocol.infer_type import InferRequest

from argos_protocol import TextTranslation, fields, v2_outputs
from argos_protocol.explain import EXPLANATIONS, check_explain_options
from argos_protocol_kserve.tensors import translation_response
from argos_transformer import metrics
from argos_transformer.codecs.cloudevents import EventContext, decode_event, encode_reply
from argos_transformer.codecs.job import ReplyShape, TranslationJob
from argos_transformer.codecs.records import (
    DEFAULT_MAX_RECORD_BYTES,
    decode_document,
    decode_record_value,
    encode_record,
)
from argos_transformer.codecs.v1 import encode_v1
from argos_transformer.codecs.v2 import decode_v2
from argos_transformer.errors import InputTooLarge, InvalidInput, TransformerError, protocol_errors
from argos_transformer.pipeline import TranslationPipeline
from argos_transformer.request_ids import ensure_request_id, use_event_id

log = logging.getLogger(__name__)

READINESS_TTL_S = 1.0
TEXT_PLAIN = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class Prepared:
    job: TranslationJob
    event: EventContext | None = None
    request: InferRequest | None = None  # a V2 request, answered in the encoding it asked for


@dataclass(frozen=True)
class Translated:
    prepared: Prepared
    translations: list[str]
    # with alternatives and scores, when the job's options asked for them
    results: list[TextTranslation] | None = None


@dataclass(frozen=True)
class Explained:
    explanations: list[dict[str, Any]]  # the predictor's, one per text, in order


class TranslatorTransformer(Model):
    def __init__(
        self,
        name: str,
        pipeline: TranslationPipeline,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
        readiness_checks_predictor: bool = True,
    ) -> None:
        super().__init__(name, return_response_headers=True)
        self.pipeline = pipeline
        self.max_record_bytes = max_record_bytes
        self.readiness_checks_predictor = readiness_checks_predictor
        self._predictor_ready = False
        self._checked_at = float("-inf")

    def load(self) -> bool:
        self.ready = True
        return self.ready

    async def healthy(self) -> bool:
        """Ready only while the predictor is: the readiness endpoints answer with this."""
        if not self.ready:
            return False
        if not self.readiness_checks_predictor:
            return True
        now = time.monotonic()
        if now - self._checked_at >= READINESS_TTL_S:
            ready = await self.pipeline.ready()
            if ready != self._predictor_ready:
                log.info(
                    "predictor_ready=%s predictor=%r", ready, self.pipeline.client.describe()
                )
            self._predictor_ready, self._checked_at = ready, time.monotonic()
        return self._predictor_ready

    def validate(self, payload: Any) -> Any:
        return payload  # preprocess has validated everything

    async def preprocess(
        self, payload: Any, headers: dict[str, str] | None = None
    ) -> Prepared:
        try:
            return self._decode(payload, headers or {})
        except TransformerError as exc:
            metrics.ERRORS.labels(exc.error_class).inc()
            raise

    def _decode(self, payload: Any, headers: dict[str, str]) -> Prepared:
        ensure_request_id()
        if isinstance(payload, CloudEvent):
            use_event_id(payload.get("id"), headers)
            job, context = decode_event(payload, self.max_record_bytes)
            return Prepared(job, context)
        if isinstance(payload, InferRequest):
            return Prepared(decode_v2(payload), request=payload)
        if isinstance(payload, bytes | bytearray):
            return Prepared(self._decode_bytes(bytes(payload), headers))
        return Prepared(decode_document(payload))

    async def predict(
        self,
        payload: Prepared,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> Translated:
        if payload.job.options.plain:
            return Translated(payload, await self.pipeline.translate_job(payload.job, headers))
        results = await self.pipeline.translate_results(payload.job, headers)
        return Translated(payload, [result.translation for result in results], results)

    async def explain(
        self, payload: Prepared, headers: dict[str, str] | None = None
    ) -> Explained:
        """A V1 body's texts explained by the predictor (`TranslationPipeline.explain_job`)."""
        job = payload.job
        try:
            if payload.event is not None or payload.request is not None or (
                job.shape is not ReplyShape.V1
            ):
                raise InvalidInput(
                    f"explanations take a V1 body ({{'instances': [...]}}) at "
                    f"/v1/models/{self.name}:explain"
                )
            with protocol_errors():
                check_explain_options(job.options)
        except TransformerError as exc:
            metrics.ERRORS.labels(exc.error_class).inc()
            raise
        return Explained(await self.pipeline.explain_job(job, headers))

    async def postprocess(
        self,
        result: Translated | Explained,
        headers: dict[str, str] | None = None,
        response_headers: dict[str, str] | None = None,
    ) -> Any:
        if isinstance(result, Explained):
            return {EXPLANATIONS: result.explanations}
        job, translations = result.prepared.job, result.translations
        if result.prepared.event is not None:
            return encode_reply(job, translations, result.prepared.event, self.name, result.results)
        if job.shape is ReplyShape.V2:
            results = result.results or [TextTranslation(t) for t in translations]
            outputs = v2_outputs(results, job.options)
            return translation_response(result.prepared.request, self.name, outputs, job.id)
        if job.shape is ReplyShape.RECORD:
            return encode_record(job, translations[0])
        if job.shape is ReplyShape.TEXT:
            if response_headers is not None:
                response_headers["content-type"] = TEXT_PLAIN
            return translations[0]
        return encode_v1(translations, result.results, job.options)

    @protocol_errors()
    def _decode_bytes(self, body: bytes, headers: dict[str, str]) -> TranslationJob:
        """A body KServe did not parse as JSON: text/plain is one text, answered as text;
        anything else (e.g. curl's default form content type) is sniffed like a record."""
        if len(body) > self.max_record_bytes:
            raise InputTooLarge(
                f"request body is {len(body)} bytes; the limit is {self.max_record_bytes}"
            )
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "text/plain":
            text = fields.nonblank_text(body, "request body")
            return TranslationJob((text,), shape=ReplyShape.TEXT)
        if not body.strip():
            raise InvalidInput("request body is empty")
        return decode_record_value(body, max_bytes=self.max_record_bytes)
