"""What a server answers per text: the translation, and what the options asked for."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class TextTranslation:
    translation: str
    alternatives: tuple[str, ...] = ()
    # Mean log-probability of the translation's tokens (CTranslate2's length-normalised
    # score); None for a text with nothing to translate.
    log_probability: float | None = None

    @property
    def confidence(self) -> float:
        """In (0, 1]: the geometric mean of the tokens' probabilities (1 for an empty text)."""
        return 1.0 if self.log_probability is None else math.exp(self.log_probability)
