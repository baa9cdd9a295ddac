"""How sentence scores add up: along a pivot route, and over the sentences of a text."""

from __future__ import annotations

from collections.abc import Sequence

from argos_core.engine import SentenceTranslation


def route_log_probabilities(hops: Sequence[Sequence[SentenceTranslation]]) -> list[float]:
    """Per sentence, the sum of its hops' log-probabilities: a pivoted translation's probability
    is the product of its hops'."""
    return [sum(hop.log_probability for hop in sentence) for sentence in zip(*hops, strict=True)]


def text_log_probability(
    log_probabilities: Sequence[float], sentences: Sequence[SentenceTranslation]
) -> float | None:
    """A text's log-probability: its sentences' mean weighted by their length in tokens; None
    for a text with no sentences."""
    if not sentences:
        return None
    tokens = [max(1, sentence.tokens) for sentence in sentences]
    weighted = sum(lp * n for lp, n in zip(log_probabilities, tokens, strict=True))
    return weighted / sum(tokens)
