"""The Open Inference Protocol's REST description (../shared/schemas/open-inference/), as JSON
Schema validators for the bodies our servers answer with."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema
import yaml

from tests.manifests.crd_schema import SCHEMAS_DIR
from tests.support.availability import unavailable

REST_DESCRIPTION = SCHEMAS_DIR / "open-inference" / "rest_predict_v2.yaml"


@functools.cache
def _components() -> dict[str, Any]:
    if not REST_DESCRIPTION.exists():
        unavailable(f"the Open Inference Protocol REST description is missing: {REST_DESCRIPTION}")
    return yaml.safe_load(REST_DESCRIPTION.read_text())["components"]


def validate(document: Any, schema_name: str) -> None:
    """Raise jsonschema's ValidationError unless `document` is a valid `schema_name`
    (e.g. `inference_response`, `inference_error_response`)."""
    # OpenAPI 3.0 schemas are JSON Schema draft 4 (no `nullable` used here); refs resolve
    # against the description's own components.
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": _components()}
    jsonschema.Draft4Validator(schema).validate(document)
