"""`TranslatorModel`: V1 and V2 (REST and gRPC) requests in, translations out; V1 `:explain`
answers explanations (`argos_protocol.explain`)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from kserve import InferRequest, InferResponse, Model
from kserve.errors import InvalidInput

from argos_core import EngineSettings, TranslationService
from argos_kserve.errors import kserve_errors
from argos_protocol import TEXT_INPUT, TRANSLATION_OUTPUT, parse_v1, v1_response, v2_outputs
from argos_protocol.explain import parse_explain_v1, v1_explanations
from argos_protocol_kserve.tensors import parse_infer_request, translation_response

logger = logging.getLogger("argos_kserve")


class TranslatorModel(Model):
    def __init__(self, name: str, model_dir: Path | None, settings: EngineSettings) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.settings = settings
        self.service: TranslationService | None = None

    def load(self) -> bool:
        self.service = TranslationService.from_directory(self.model_dir, self.settings)
        self.ready = True
        return self.ready

    def get_input_types(self) -> list[dict]:
        return [{"name": TEXT_INPUT, "datatype": "BYTES", "shape": [-1]}]

    def get_output_types(self) -> list[dict]:
        return [{"name": TRANSLATION_OUTPUT, "datatype": "BYTES", "shape": [-1]}]

    async def predict(
        self, payload: dict | InferRequest, headers: dict[str, str] | None = None
    ) -> dict | InferResponse:
        with kserve_errors():
            if isinstance(payload, InferRequest):
                request = parse_infer_request(payload)
                results = await self.service.translate_request(request.items, request.options)
                outputs = v2_outputs(results, request.options)
                return translation_response(payload, self.name, outputs)
            if isinstance(payload, bytes | bytearray):
                payload = _json_body(payload)
            request = parse_v1(payload)
            results = await self.service.translate_request(request.items, request.options)
            return v1_response(results, request.options)

    async def explain(self, payload: dict, headers: dict[str, str] | None = None) -> dict:
        """KServe's V1 `:explain` verb, served by the model itself: the same body as V1
        `:predict`; the best translations explained."""
        with kserve_errors():
            if isinstance(payload, InferRequest):
                raise InvalidInput(
                    "explanations take a V1 body ({'instances': [...]}) at "
                    f"/v1/models/{self.name}:explain"
                )
            if isinstance(payload, bytes | bytearray):
                payload = _json_body(payload)
            request = parse_explain_v1(payload)
            return v1_explanations(await self.service.explain_request(request.items))


def _json_body(body: bytes | bytearray) -> Any:
    """A V1 body sent without a JSON content type (e.g. `curl -d`) is still parsed as JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from exc
