"""`ArgosTranslateRuntime`: an MLServer custom runtime over `argos_core.TranslationService`.

V2 REST and gRPC requests carry an input `text` (BYTES, shape [N] or [N, 1]) and optionally the
pair as request parameters or BYTES inputs `source`/`target`; the answer is an output
`translation` (BYTES, shape [N]). Parsing, limits, batching and errors all come from the core.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from mlserver import MLModel
from mlserver.logging import logger as mlserver_logger
from mlserver.settings import ModelSettings
from mlserver.types import InferenceRequest, InferenceResponse
from mlserver.utils import get_model_uri

from argos_core import DEFAULT_MODEL_DIR, EngineSettings, TranslationService
from argos_mlserver.errors import (
    DropClientErrors,
    mlserver_errors,
    refuse_undecodable_raw_inputs,
)
from argos_mlserver.tensors import parse_inference_request, response_output
from argos_protocol import v2_outputs
from argos_protocol.garbage_collection import collect_for_serving
from argos_protocol.logs import REQUEST_ID_HEADER, RequestContextFilter, request_context

logger = logging.getLogger("argos_mlserver")


class AdaptiveBatchingRefused(ValueError):
    """MLServer's adaptive batching would mix language pairs: the core batches instead."""


class ArgosTranslateRuntime(MLModel):
    service: TranslationService | None = None

    async def load(self) -> bool:
        _share_mlserver_log_handlers()
        refuse_undecodable_raw_inputs()
        refuse_adaptive_batching(self.settings)
        model_dir = await resolve_model_dir(self.settings)
        extra = (self.settings.parameters.extra if self.settings.parameters else None) or {}
        try:
            engine_settings = EngineSettings.from_mapping(extra)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"model {self.name}: invalid parameters.extra {extra}: {exc}") from exc
        logger.info("loading model=%s model_dir=%s extra=%s", self.name, model_dir, extra)
        # CTranslate2 loads off the event loop so health endpoints keep answering meanwhile.
        self.service = await asyncio.to_thread(
            TranslationService.from_directory, model_dir, engine_settings
        )
        logger.info(
            "model ready model=%s pairs=%s default_pair=%s",
            self.name,
            ",".join(f"{s}->{t}" for s, t in self.service.pairs),
            "->".join(self.service.default_pair or ("none",)),
        )
        collect_for_serving()
        self.ready = True
        return self.ready

    async def predict(self, payload: InferenceRequest) -> InferenceResponse:
        headers = (payload.parameters.headers if payload.parameters else None) or {}
        with request_context(headers.get(REQUEST_ID_HEADER), self.name), mlserver_errors():
            request = parse_inference_request(payload)
            results = await self.service.translate_request(request.items, request.options)
        return InferenceResponse(
            id=payload.id,
            model_name=self.name,
            model_version=self.version,
            outputs=[response_output(o) for o in v2_outputs(results, request.options)],
        )

    async def unload(self) -> bool:
        if self.service is not None:
            await self.service.close()
            self.service = None
        self.ready = False
        return True


async def resolve_model_dir(settings: ModelSettings) -> Path:
    """`parameters.uri` as a folder of packages; the embedded model when none was given.

    MLServer fills a missing `uri` with the folder holding model-settings.json, which holds no
    packages: that also means "the embedded model".
    """
    if settings.parameters is None or not settings.parameters.uri:
        return DEFAULT_MODEL_DIR
    uri = Path(await get_model_uri(settings))
    source = settings._source
    if source and uri.resolve() == Path(os.path.dirname(source)).resolve():
        return DEFAULT_MODEL_DIR
    return uri


def refuse_adaptive_batching(settings: ModelSettings) -> None:
    """Fail the load when MLServer's adaptive batching is switched on.

    It groups whole requests, keeps only the last request's parameters (so mixed language pairs
    would be translated with one pair) and expects one output row per input row. The core's own
    batcher already merges concurrent requests per pair into one CTranslate2 call.
    """
    if settings.max_batch_size > 1 and settings.max_batch_time > 0:
        raise AdaptiveBatchingRefused(
            f"model {settings.name}: MLServer adaptive batching is not supported "
            f"(max_batch_size={settings.max_batch_size}, "
            f"max_batch_time={settings.max_batch_time}); set max_batch_size to 0 and tune "
            "parameters.extra.max_batch_sentences / max_wait_ms instead"
        )


def _share_mlserver_log_handlers() -> None:
    """Send our logs (core, runtime, protocol) where MLServer's go, in MLServer's format (its
    default, or `MLSERVER_LOGGING_SETTINGS`, e.g. settings/logging-json.json), with each
    request's id; MLServer only configures its own loggers."""
    for name in ("argos_core", "argos_mlserver", "argos_protocol"):
        target = logging.getLogger(name)
        if target.handlers:
            continue
        for handler in mlserver_logger.handlers:
            target.addHandler(handler)
        target.addFilter(RequestContextFilter())
        target.setLevel(logging.INFO)
        target.propagate = False
    grpc_logger = logging.getLogger("mlserver.grpc")
    if not any(isinstance(f, DropClientErrors) for f in grpc_logger.filters):
        grpc_logger.addFilter(DropClientErrors())
