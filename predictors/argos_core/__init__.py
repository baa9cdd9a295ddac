"""Translation core shared by every front end: packages, sentences, engine, batching.

Nothing here imports a web framework; the KServe and MLServer front ends are thin layers over
`TranslationService`.
"""

from argos_core.errors import (
    InvalidRequest,
    Overloaded,
    PackageError,
    TranslationError,
    UnknownLanguagePair,
)
from argos_core.service import TranslationService
from argos_core.settings import DEFAULT_MODEL_DIR, EngineSettings

__all__ = [
    "DEFAULT_MODEL_DIR",
    "EngineSettings",
    "InvalidRequest",
    "Overloaded",
    "PackageError",
    "TranslationError",
    "TranslationService",
    "UnknownLanguagePair",
]
