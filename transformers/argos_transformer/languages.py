"""The language pairs the service translates, for LibreTranslate's `/languages`, language
detection and `auto`.

The pairs are configuration (`--languages en:es,es:en`), because the KServe protocols have no
standard way for a predictor to list them; the predictor stays the authority on what it
accepts (an unknown pair is answered with its 400, passed through).
"""

from __future__ import annotations

from dataclasses import dataclass

# English names of the languages Argos Translate publishes packages for.
LANGUAGE_NAMES = {
    "ar": "Arabic", "az": "Azerbaijani", "bg": "Bulgarian", "bn": "Bengali", "ca": "Catalan",
    "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English",
    "eo": "Esperanto", "es": "Spanish", "et": "Estonian", "eu": "Basque", "fa": "Persian",
    "fi": "Finnish", "fr": "French", "ga": "Irish", "gl": "Galician", "he": "Hebrew",
    "hi": "Hindi", "hu": "Hungarian", "id": "Indonesian", "it": "Italian", "ja": "Japanese",
    "ko": "Korean", "ky": "Kyrgyz", "lt": "Lithuanian", "lv": "Latvian", "ms": "Malay",
    "nb": "Norwegian Bokmål", "nl": "Dutch", "pl": "Polish", "pt": "Portuguese",
    "pt-BR": "Portuguese (Brazil)", "ro": "Romanian", "ru": "Russian", "sk": "Slovak",
    "sl": "Slovenian", "sq": "Albanian", "sr": "Serbian", "sv": "Swedish", "th": "Thai",
    "tl": "Tagalog", "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese",
    "zh": "Chinese", "zh-Hans": "Chinese (Simplified)", "zh-Hant": "Chinese (Traditional)",
    "zt": "Chinese (Traditional)",
}

DEFAULT_LANGUAGES = "en:es"


@dataclass(frozen=True)
class LanguageCatalog:
    pairs: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, spec: str) -> LanguageCatalog:
        """`"en:es,es:en"` (also `en->es` or `en-es` for two-letter codes)."""
        pairs: list[tuple[str, str]] = []
        for item in (part.strip() for part in spec.split(",")):
            if not item:
                continue
            for separator in (":", "->", "-"):
                if separator in item:
                    source, _, target = item.partition(separator)
                    break
            else:
                raise ValueError(f"language pair {item!r} is not source:target")
            source, target = source.strip(), target.strip()
            if not source or not target or source == target:
                raise ValueError(f"language pair {item!r} is not source:target")
            if (source, target) not in pairs:
                pairs.append((source, target))
        if not pairs:
            raise ValueError("at least one language pair is required")
        return cls(tuple(pairs))

    @property
    def codes(self) -> list[str]:
        """Every language of the pairs, sources and targets, sorted."""
        return sorted({code for pair in self.pairs for code in pair})

    def languages(self) -> list[dict[str, object]]:
        """LibreTranslate's `/languages`: every source language with its targets."""
        targets: dict[str, list[str]] = {}
        for source, target in self.pairs:
            targets.setdefault(source, []).append(target)
            targets.setdefault(target, [])
        return [
            {"code": code, "name": LANGUAGE_NAMES.get(code, code), "targets": sorted(to)}
            for code, to in sorted(targets.items())
        ]

    def sources_for(self, target: str) -> list[str]:
        return sorted({source for source, to in self.pairs if to == target})
