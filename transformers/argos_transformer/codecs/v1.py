"""KServe V1: `{"instances": [...], "parameters"?: {"source", "target"}}` -> `{"predictions"}`.

An instance is a string or `{"text", "source"?, "target"?}`, as the predictor accepts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from argos_transformer.codecs import fields
from argos_transformer.codecs.job import Pair, ReplyShape, TranslationJob
from argos_transformer.errors import InvalidInput

_INSTANCE_FIELDS = frozenset({"text", "source", "target"})
_BODY_FIELDS = frozenset({"instances", "parameters", "source", "target", "id"})


def decode_v1(body: Mapping[str, Any]) -> TranslationJob:
    unknown = sorted(set(body) - _BODY_FIELDS)
    if unknown:
        raise InvalidInput(f"unknown fields in V1 body: {', '.join(unknown)}")
    instances = body["instances"]
    if not isinstance(instances, list):
        raise InvalidInput(
            f"'instances' must be a list of strings or {{text, source, target}} objects, "
            f"got {fields.type_name(instances)}"
        )
    return decode_instances(instances, _body_pair(body), fields.record_id(body.get("id")))


def decode_instances(
    instances: Sequence[Any], default: Pair = (None, None), job_id: str | None = None
) -> TranslationJob:
    if not instances:
        raise InvalidInput("'instances' is empty: give at least one text")
    texts: list[str] = []
    pairs: list[Pair] = []
    for index, instance in enumerate(instances):
        where = f"instances[{index}]"
        if isinstance(instance, str):
            texts.append(fields.text(instance, where))
            pairs.append(default)
        elif isinstance(instance, Mapping):
            unknown = sorted(set(instance) - _INSTANCE_FIELDS)
            if unknown:
                raise InvalidInput(f"{where} has unknown fields: {', '.join(unknown)}")
            if "text" not in instance:
                raise InvalidInput(f"{where} has no 'text'")
            texts.append(fields.text(instance["text"], f"{where}.text"))
            pairs.append(
                (
                    fields.language_code(instance.get("source"), f"{where}.source") or default[0],
                    fields.language_code(instance.get("target"), f"{where}.target") or default[1],
                )
            )
        else:
            raise InvalidInput(
                f"{where} must be a string or an object with 'text', "
                f"got {fields.type_name(instance)}"
            )
    uniform = all(pair == pairs[0] for pair in pairs)
    return TranslationJob(
        texts=tuple(texts),
        source=pairs[0][0] if uniform else default[0],
        target=pairs[0][1] if uniform else default[1],
        id=job_id,
        shape=ReplyShape.V1,
        pairs=None if uniform else tuple(pairs),
    )


def encode_v1(translations: Sequence[str]) -> dict[str, list[str]]:
    return {"predictions": list(translations)}


def _body_pair(body: Mapping[str, Any]) -> Pair:
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise InvalidInput(f"'parameters' must be an object, got {fields.type_name(parameters)}")
    source = parameters.get("source", body.get("source"))
    target = parameters.get("target", body.get("target"))
    return (
        fields.language_code(source, "source"),
        fields.language_code(target, "target"),
    )
