"""What a caller may ask for beyond the best translation, as request parameters.

- `alternatives` (0-10): that many other translations per text, best first (the engine's next
  hypotheses; LibreTranslate's `alternatives`).
- `return_scores` (true/false): the model's confidence per text, in (0, 1]: the geometric mean
  of its target tokens' probabilities (exp of CTranslate2's length-normalised score).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from argos_protocol import fields

ALTERNATIVES = "alternatives"
RETURN_SCORES = "return_scores"
MAX_ALTERNATIVES = 10


@dataclass(frozen=True)
class TranslationOptions:
    alternatives: int = 0
    return_scores: bool = False

    @property
    def plain(self) -> bool:
        """Only the best translation is asked for."""
        return not (self.alternatives or self.return_scores)


PLAIN = TranslationOptions()


def parse_options(parameters: Mapping[str, Any], where: str) -> TranslationOptions:
    """The options among request `parameters`; `where` names one in errors, e.g.
    "parameters.{}" (V1) or "parameter '{}'" (V2)."""
    alternatives = parameters.get(ALTERNATIVES)
    scores = parameters.get(RETURN_SCORES)
    if alternatives is None and scores is None:
        return PLAIN
    return TranslationOptions(
        alternatives=0
        if alternatives is None
        else fields.count(alternatives, where.format(ALTERNATIVES), 0, MAX_ALTERNATIVES),
        return_scores=False
        if scores is None
        else fields.boolean(scores, where.format(RETURN_SCORES)),
    )
