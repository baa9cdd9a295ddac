"""Which packages carry a text from one language to another: direct, or pivoting through English."""

from __future__ import annotations

from collections.abc import Collection

PIVOT_LANGUAGE = "en"

Pair = tuple[str, str]


def plan_route(installed: Collection[Pair], source: str, target: str) -> list[Pair] | None:
    """The hops to translate `source` into `target`, or None when no route exists."""
    if (source, target) in installed:
        return [(source, target)]
    first, second = (source, PIVOT_LANGUAGE), (PIVOT_LANGUAGE, target)
    if PIVOT_LANGUAGE not in (source, target) and first in installed and second in installed:
        return [first, second]
    return None


def reachable_pairs(installed: Collection[Pair]) -> list[Pair]:
    """Every pair served directly or through the pivot, sorted."""
    languages = {code for pair in installed for code in pair}
    return sorted(
        (s, t)
        for s in languages
        for t in languages
        if s != t and plan_route(installed, s, t) is not None
    )
