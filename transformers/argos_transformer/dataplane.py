"""KServe's DataPlane, adjusted for a transformer that must keep CloudEvent context and report
its predictor's readiness.

- KServe hands only an event's data to the model and replies with a new event id; here the
  model gets the whole `CloudEvent` (binary or structured, `time` optional as in the spec) and
  returns the reply event, encoded in the request's mode.
- Readiness endpoints ask the model's `healthy()` (which checks the predictor), while inference
  requests only check the model itself and let the predictor call fail honestly (503 with
  Retry-After) instead of a blanket "not ready".
"""

from __future__ import annotations

from typing import Any

import cloudevents.exceptions as ce_errors
from cloudevents.conversion import to_binary, to_structured
from cloudevents.http import CloudEvent, from_dict, from_http
from cloudevents.sdk.converters.util import has_binary_headers
from kserve.constants.constants import PredictorProtocol
from kserve.errors import ModelNotFound

from argos_protocol_kserve.dataplane import OpenInferenceDataPlane
from argos_transformer.errors import InvalidInput

STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
_EVENT_ERRORS = (
    ce_errors.MissingRequiredFields,
    ce_errors.InvalidRequiredFields,
    ce_errors.InvalidStructuredJSON,
    ce_errors.InvalidHeadersFormat,
    ce_errors.DataMarshallerError,
    ce_errors.DataUnmarshallerError,
    # the SDK's own decoding trips over attributes of the wrong type (null id, list specversion)
    TypeError,
    ValueError,
)


class TransformerDataPlane(OpenInferenceDataPlane):
    def decode(
        self,
        body: Any,
        headers: dict[str, str] | None,
        protocol_version: str = PredictorProtocol.REST_V1.value,
        model_name: str | None = None,
    ) -> tuple[Any, dict]:
        if (
            headers
            and isinstance(body, bytes | str)
            and protocol_version.lower() == PredictorProtocol.REST_V1.value
        ):
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if has_binary_headers(headers):
                event = _event_from_http(headers, body, raw_data=True)
                return event, event.get_attributes()
            if content_type == STRUCTURED_CONTENT_TYPE:
                event = _event_from_http(headers, body, raw_data=False)
                return event, event.get_attributes()
        return super().decode(body, headers, protocol_version, model_name)

    def decode_cloudevent(self, body: Any) -> tuple[Any, dict]:
        # A structured event posted as application/json: keep it whole.
        if isinstance(body, dict) and {"specversion", "id", "source", "type"} <= body.keys():
            try:
                event = from_dict(body)
            except _EVENT_ERRORS as exc:
                raise InvalidInput(f"invalid CloudEvent: {exc}") from exc
            return event, event.get_attributes()
        return super().decode_cloudevent(body)

    def encode(
        self, model_name: str, response: Any, headers: dict[str, str] | None, req_attributes: dict
    ) -> tuple[Any, dict[str, str]]:
        if isinstance(response, CloudEvent):
            binary = bool(headers) and has_binary_headers(headers)
            event_headers, body = to_binary(response) if binary else to_structured(response)
            return body, {name.lower(): value for name, value in event_headers.items()}
        return super().encode(model_name, response, headers, req_attributes)

    async def model_ready(
        self, model_name: str, disable_predictor_health_check: bool = False
    ) -> bool:
        model = self._model_registry.get_model(model_name)
        if model is None:
            raise ModelNotFound(model_name)
        if disable_predictor_health_check:
            return bool(model.ready)
        return await self._model_registry.is_model_ready(model_name)

    async def ready(self) -> bool:
        models = self._model_registry.get_models()
        return bool(models) and all(
            [await self._model_registry.is_model_ready(name) for name in models]
        )


def _event_from_http(headers: dict[str, str], body: bytes | str, raw_data: bool) -> CloudEvent:
    try:
        if raw_data:
            return from_http(headers, body, data_unmarshaller=lambda data: data)
        return from_http(headers, body)
    except _EVENT_ERRORS as exc:
        raise InvalidInput(f"invalid CloudEvent: {exc}") from exc
