"""KServe's ModelServer with the data plane of `argos_protocol_kserve` (V2 REST bodies as the
Open Inference Protocol has them)."""

from __future__ import annotations

from typing import Any

from kserve import ModelServer

from argos_protocol_kserve.dataplane import OpenInferenceDataPlane


class PredictorServer(ModelServer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.dataplane = OpenInferenceDataPlane(model_registry=self.registered_models)
