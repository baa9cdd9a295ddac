"""KServe's ModelServer with the data plane of `argos_protocol_kserve` (V2 REST bodies without
a JSON content type are read as JSON)."""

from __future__ import annotations

from typing import Any

from kserve import ModelServer

from argos_protocol_kserve.dataplane import JsonBodyDataPlane


class PredictorServer(ModelServer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataplane = JsonBodyDataPlane(model_registry=self.registered_models)
