"""KServe V1: `{"instances": [...], "parameters"?: {"source", "target"}, "id"?}` ->
`{"predictions": [...]}`, one prediction per instance, in order.

An instance is a string (the body's pair) or `{"text", "source"?, "target"?}`. `source` and
`target` may also stand at the top of the body; `parameters` wins over them. With options
(`parameters.alternatives`, `parameters.return_scores`) a prediction is an object
`{"translation", "alternatives"?, "score"?}` instead of a string.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from argos_protocol import fields
from argos_protocol.errors import InvalidRequest
from argos_protocol.fields import TextRule
from argos_protocol.options import PLAIN, TranslationOptions, parse_options
from argos_protocol.request import PAIR_FIELDS, TextItem, TranslationRequest
from argos_protocol.results import TextTranslation

INSTANCES = "instances"
PREDICTIONS = "predictions"
BODY_FIELDS = frozenset({INSTANCES, "parameters", "id", *PAIR_FIELDS})
INSTANCE_FIELDS = frozenset({"text", *PAIR_FIELDS})


def parse_v1(body: Any, text_rule: TextRule = fields.text) -> TranslationRequest:
    """`text_rule` checks each text: `fields.text` (any string) or `fields.nonblank_text`."""
    if not isinstance(body, Mapping):
        raise InvalidRequest(
            f"request body must be a JSON object with an '{INSTANCES}' list, "
            f"got {fields.type_name(body)}"
        )
    if INSTANCES not in body:
        raise InvalidRequest(
            f"'{INSTANCES}' must be a list of strings or {{text, source, target}} objects; "
            "the body has fields: " + (", ".join(sorted(map(str, body))) or "none")
        )
    unknown = sorted(set(body) - BODY_FIELDS)
    if unknown:
        raise InvalidRequest(f"unknown fields in the V1 body: {', '.join(map(str, unknown))}")
    parameters = _parameters(body)
    source, target = (
        fields.language_code(
            parameters.get(name, body.get(name)),
            f"parameters.{name}" if name in parameters else name,
        )
        for name in PAIR_FIELDS
    )
    return TranslationRequest(
        parse_instances(body[INSTANCES], source, target, text_rule),
        fields.record_id(body.get("id")),
        parse_options(parameters, "parameters.{}"),
    )


def parse_instances(
    instances: Any,
    source: str | None = None,
    target: str | None = None,
    text_rule: TextRule = fields.text,
) -> tuple[TextItem, ...]:
    if not isinstance(instances, list):
        raise InvalidRequest(
            f"'{INSTANCES}' must be a list of strings or {{text, source, target}} objects, "
            f"got {fields.type_name(instances)}"
        )
    items = []
    for index, instance in enumerate(instances):
        where = f"{INSTANCES}[{index}]"
        if isinstance(instance, str):
            items.append(TextItem(text_rule(instance, where), source, target))
        elif isinstance(instance, Mapping):
            unknown = sorted(set(instance) - INSTANCE_FIELDS)
            if unknown:
                raise InvalidRequest(f"{where} has unknown fields: {', '.join(map(str, unknown))}")
            items.append(
                TextItem(
                    text_rule(instance.get("text"), f"{where}.text"),
                    fields.language_code(instance.get("source"), f"{where}.source") or source,
                    fields.language_code(instance.get("target"), f"{where}.target") or target,
                )
            )
        else:
            raise InvalidRequest(
                f"{where} must be a string or an object with 'text', "
                f"got {fields.type_name(instance)}"
            )
    return tuple(items)


def v1_response(
    results: Sequence[TextTranslation], options: TranslationOptions = PLAIN
) -> dict[str, list[Any]]:
    return {PREDICTIONS: [prediction(result, options) for result in results]}


def prediction(result: TextTranslation, options: TranslationOptions) -> str | dict[str, Any]:
    if options.plain:
        return result.translation
    answer: dict[str, Any] = {"translation": result.translation}
    if options.alternatives:
        answer["alternatives"] = list(result.alternatives)
    if options.return_scores:
        answer["score"] = result.confidence
    return answer


def _parameters(body: Mapping[str, Any]) -> Mapping[str, Any]:
    parameters = body.get("parameters")
    if parameters is None:
        return {}
    if not isinstance(parameters, Mapping):
        raise InvalidRequest(
            f"'parameters' must be an object, got {fields.type_name(parameters)}"
        )
    return parameters
