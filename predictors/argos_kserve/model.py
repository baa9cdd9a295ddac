"""`TranslatorModel`: V1 and V2 (REST and gRPC) requests in, translations out."""

from __future__ import annotations

import json
import logging
import struct
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from kserve import InferOutput, InferRequest, InferResponse, Model
from kserve.errors import InvalidInput
from kserve.protocol.infer_type import to_http_parameters

from argos_core import EngineSettings, TranslationService
from argos_core.contract import (
    TEXT_INPUT,
    TRANSLATION_OUTPUT,
    TensorValues,
    items_from_v1,
    items_from_v2,
)
from argos_kserve.errors import kserve_errors

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
                return await self._predict_v2(payload)
            if isinstance(payload, bytes | bytearray):
                payload = _json_body(payload)
            translations = await self.service.translate_items(items_from_v1(payload))
            return {"predictions": translations}

    async def _predict_v2(self, request: InferRequest) -> InferResponse:
        tensors = [_tensor_values(tensor) for tensor in request.inputs]
        parameters = request.parameters
        if parameters is not None and not isinstance(parameters, dict):
            parameters = to_http_parameters(parameters)
        translations = await self.service.translate_items(items_from_v2(tensors, parameters))
        output = InferOutput(
            name=TRANSLATION_OUTPUT,
            shape=[len(translations)],
            datatype="BYTES",
            data=translations,
        )
        return InferResponse(
            response_id=request.id or str(uuid.uuid4()),
            model_name=self.name,
            infer_outputs=[output],
        )

    def stop(self) -> None:
        super().stop()


def _tensor_values(tensor: Any) -> TensorValues:
    """Flatten a KServe InferInput (JSON data, gRPC contents or raw bytes) into plain values."""
    if tensor._raw_data is not None or not isinstance(tensor.data, list):
        try:
            values = tensor.as_numpy().reshape(-1).tolist()
        except (ValueError, TypeError, struct.error, InvalidInput) as exc:
            raise InvalidInput(f"input '{tensor.name}' cannot be decoded: {exc}") from exc
    else:
        values = _flatten(tensor.data)
    return TensorValues(tensor.name, tensor.datatype, list(tensor.shape or []), values)


def _flatten(data: list) -> list:
    flat: list = []
    for value in data:
        if isinstance(value, list):
            flat.extend(_flatten(value))
        elif isinstance(value, np.ndarray):
            flat.extend(value.reshape(-1).tolist())
        else:
            flat.append(value)
    return flat


def _json_body(body: bytes | bytearray) -> Any:
    """A V1 body sent without a JSON content type (e.g. `curl -d`) is still parsed as JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"request body is not valid JSON: {exc}") from exc
