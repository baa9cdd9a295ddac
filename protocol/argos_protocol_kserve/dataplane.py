"""KServe's data plane, reading and writing V2 REST bodies as the Open Inference Protocol has them.

- A V2 body without `Inference-Header-Content-Length` is JSON. KServe takes any body FastAPI
  did not parse as JSON for the binary tensor extension and refuses it without that header;
  tritonclient sends JSON tensors with no Content-Type at all.
- An answer leaves absent fields out. KServe's response model writes them as `null`
  (`"model_version": null`, `"parameters": null`), which the protocol's REST description does
  not allow (`type: string`, `type: object`).
- A V1 `:explain` answer carries the model's headers only. KServe's data plane starts the
  answer's headers from the request's, so every request header came back: a chunked request's
  `Transfer-Encoding` beside the answer's `Content-Length` made a malformed HTTP response, and
  `curl -d`'s form Content-Type labelled the JSON answer.
"""

from __future__ import annotations

from typing import Any

from kserve.constants.constants import INFERENCE_CONTENT_LENGTH_HEADER
from kserve.errors import InvalidInput
from kserve.model import InferenceModel, InferenceVerb
from kserve.protocol.dataplane import DataPlane
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.protocol.rest.v2_datamodels import InferenceRequest, InferenceResponse
from pydantic import ValidationError


class InferenceResponseWithoutNulls(InferenceResponse):
    """KServe's V2 endpoint serialises what the data plane encodes with `model_dump`: this one
    leaves unset fields out instead of writing null."""

    def model_dump(self, **kwargs: Any) -> dict[str, Any]:
        return super().model_dump(**{**kwargs, "exclude_none": True})


class OpenInferenceDataPlane(DataPlane):
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

    def encode(
        self, model_name: str, response: Any, headers: dict[str, str] | None, req_attributes: dict
    ) -> tuple[Any, dict[str, str]]:
        body, response_headers = super().encode(model_name, response, headers, req_attributes)
        if isinstance(response, InferResponse) and isinstance(body, dict):
            body = InferenceResponseWithoutNulls.model_validate(body)
        return body, response_headers

    async def explain(
        self,
        model_name: str,
        request: bytes | dict | InferRequest,
        headers: dict[str, str] | None = None,
    ) -> tuple[Any, dict[str, str]]:
        """KServe's, answering with the model's headers only, not the request's."""
        model = await self.get_model(model_name)
        if not isinstance(model, InferenceModel):
            raise InvalidInput(f"model {model_name} does not explain")
        return await model(request, verb=InferenceVerb.EXPLAIN, headers=headers)


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ())) or 'body'}: {error.get('msg', '')}"
        for error in exc.errors()[:5]
    )
