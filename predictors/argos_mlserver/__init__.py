"""MLServer front end: the translation core as an `mlserver.MLModel` custom runtime.

Start it with `mlserver start predictors/argos_mlserver/settings` (or `make run-mlserver`).
"""
