"""Language detection for LibreTranslate's `POST /detect` and `source: "auto"`.

lingua (`lingua-language-detector`): n-gram models compiled into its wheel, nothing downloaded
at run time. The detector knows only the languages of the configured pairs (`--languages`), so
it answers among what this service can translate, and it is built once at startup with those
models loaded, so that no request waits for them. Measured on the build machine:

| languages | accuracy `low` (trigrams, default) | accuracy `high` (1- to 5-grams) |
|---|---|---|
| en, es | 0.03 s, ~11 MB | ~1 s, ~120 MB |
| the 46 Argos languages lingua knows | ~1 s, ~100 MB | ~16 s, ~1 GB |

`high` is better on texts of a few words; on sentences both agree.

Confidences are given as LibreTranslate gives them: a percentage rounded to a whole number
(a float, 0-100), best first, at most three candidates. Several texts are detected together
(LibreTranslate's batch detection), and only the first `SAMPLE_CHARS` characters are read:
the language of a text shows long before that, and the cost stays bounded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

log = logging.getLogger(__name__)

ACCURACIES = ("low", "high")
SAMPLE_CHARS = 2_000
MAX_CANDIDATES = 3
# Codes LibreTranslate and Argos use that are not ISO 639-1 codes of their language.
_ISO_ALIASES = {"pb": "pt", "zt": "zh"}


@dataclass(frozen=True)
class Detection:
    """A detected language: every configured code of it (e.g. `pt`, `pt-BR`), and the
    confidence as a percentage."""

    codes: tuple[str, ...]
    confidence: float

    @property
    def language(self) -> str:
        return self.codes[0]

    def as_json(self) -> dict[str, object]:
        return {"confidence": self.confidence, "language": self.language}


class LanguageDetector:
    def __init__(self, codes: Iterable[str], accuracy: str = "low") -> None:
        if accuracy not in ACCURACIES:
            raise ValueError(f"accuracy must be one of {', '.join(ACCURACIES)}, got {accuracy!r}")
        self.codes = tuple(dict.fromkeys(codes))
        if not self.codes:
            raise ValueError("at least one language is required")
        self._codes_of: dict[Language, tuple[str, ...]] = {}
        unknown = []
        for code in self.codes:
            language = lingua_language(code)
            if language is None:
                unknown.append(code)
            else:
                self._codes_of[language] = (*self._codes_of.get(language, ()), code)
        self.unknown = tuple(unknown)
        self._detector = None
        if self._codes_of:
            builder = LanguageDetectorBuilder.from_languages(*self._codes_of)
            if accuracy == "low":
                builder = builder.with_low_accuracy_mode()
            self._detector = builder.with_preloaded_language_models().build()
        self._fallback = Detection(("en",) if "en" in self.codes else self.codes[:1], 0.0)
        log.info(
            "language detection accuracy=%s languages=%s unknown_to_lingua=%s",
            accuracy, ",".join(code for codes in self._codes_of.values() for code in codes),
            ",".join(self.unknown) or "none",
        )

    def detect(self, texts: Sequence[str]) -> list[Detection]:
        """The likeliest languages of `texts` taken together, best first; when nothing can be
        told (no letters), the fallback language with confidence 0."""
        if self._detector is None:
            return [self._fallback]
        values = self._detector.compute_language_confidence_values(sample(texts))
        detections = [
            Detection(self._codes_of[value.language], float(round(value.value * 100)))
            for value in values[:MAX_CANDIDATES]
        ]
        return [d for d in detections if d.confidence > 0] or [self._fallback]


def lingua_language(code: str) -> Language | None:
    """lingua's language for a code such as `en`, `pt-BR`, `zh-Hant` or `zt`; None if unknown."""
    base = code.replace("_", "-").split("-")[0].lower()
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(_ISO_ALIASES.get(base, base)))
    except ValueError:
        return None


def sample(texts: Sequence[str]) -> str:
    """The texts joined by line breaks, at most `SAMPLE_CHARS` characters (any lone surrogate
    replaced: lingua takes only valid UTF-8)."""
    parts, left = [], SAMPLE_CHARS
    for text in texts:
        if left <= 0:
            break
        parts.append(text[:left])
        left -= len(parts[-1]) + 1
    return "\n".join(parts).encode("utf-8", "replace").decode("utf-8")
