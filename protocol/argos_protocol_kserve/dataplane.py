"""KServe's data plane, reading a V2 REST body sent without a JSON content type as JSON.

KServe takes any V2 body FastAPI did not parse as JSON for the binary tensor extension and
refuses it without an `Inference-Header-Content-Length`. tritonclient sends JSON tensors with no
Content-Type at all, so a body without that header is read as the JSON it must then be.
"""

from __future__ import annotations

from typing import Any

from kserve.constants.constants import INFERENCE_CONTENT_LENGTH_HEADER
from kserve.errors import InvalidInput
from kserve.protocol.dataplane import DataPlane
from kserve.protocol.infer_type import InferRequest
from kserve.protocol.rest.v2_datamodels import InferenceRequest
from pydantic import ValidationError


class JsonBodyDataPlane(DataPlane):
    def decode_inference_request(
        self, body: bytes | InferenceRequest, headers: dict[str, Any], model_name: str
    ) -> InferRequest:
        # Starlette gives header names in lowercase, as KServe's constant is.
        if isinstance(body, bytes | bytearray) and INFERENCE_CONTENT_LENGTH_HEADER not in (
            headers or {}
        ):
            try:
                body = InferenceRequest.model_validate_json(body)
            except ValidationError as exc:
                raise InvalidInput(f"malformed V2 inference request: {_problems(exc)}") from exc
        return super().decode_inference_request(body, headers, model_name)


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ())) or 'body'}: {error.get('msg', '')}"
        for error in exc.errors()[:5]
    )
