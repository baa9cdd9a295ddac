"""TranslationService: the one object every front end calls.

Texts are validated, split into sentences, looked up in the optional cache, queued on the
dynamic batcher per language pair and decoding (hop by hop when pivoting), and re-joined in
order, with the alternatives and scores the request's options ask for, or explained
(`explain_request`: scores and word alignments, decoded with attention and batched apart).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from argos_core import metrics
from argos_core.batcher import DynamicBatcher
from argos_core.cache import SentenceCache
from argos_core.engine import (
    BEST,
    EXPLAIN,
    Decoding,
    PairEngine,
    SentenceTranslation,
    concrete_settings,
)
from argos_core.errors import InvalidRequest, UnknownLanguagePair
from argos_core.explanations import text_explanation
from argos_core.packages import ArgosPackage, discover_packages
from argos_core.routes import Pair, plan_route, reachable_pairs
from argos_core.scores import route_log_probabilities, text_log_probability
from argos_core.settings import DEFAULT_MODEL_DIR, EngineSettings
from argos_protocol import PLAIN, TextItem, TextTranslation, TranslationOptions
from argos_protocol.explain import TextExplanation
from argos_protocol.sentences import SplitText, split_sentences

logger = logging.getLogger("argos_core.service")

Result = TypeVar("Result")


class TranslationService:
    def __init__(self, packages: Sequence[ArgosPackage], settings: EngineSettings) -> None:
        settings = concrete_settings(settings)
        self.settings = settings
        self.packages = {package.pair: package for package in packages}
        self.engines = {
            pair: PairEngine(package, settings) for pair, package in self.packages.items()
        }
        self.caches = (
            {pair: SentenceCache(settings.cache_size) for pair in self.packages}
            if settings.cache_size
            else {}
        )
        self.pairs = reachable_pairs(self.packages)
        self.default_pair = self._default_pair()
        self.batcher = DynamicBatcher(
            self._run_batch,
            max_batch_sentences=settings.max_batch_sentences,
            max_wait_s=settings.max_wait_s,
            max_wait_fraction=settings.max_wait_fraction,
            max_queue_sentences=settings.max_queue_sentences,
            workers=settings.inter_threads,
            wide_when_alone=lambda key: self.engines[key[0]].has_wide,
        )

    @classmethod
    def from_directory(
        cls, model_dir: Path | str | None = None, settings: EngineSettings | None = None
    ) -> TranslationService:
        settings = settings or EngineSettings()
        directory = Path(model_dir) if model_dir else DEFAULT_MODEL_DIR
        packages = discover_packages(directory, settings.resolved_extract_dir())
        logger.info(
            "packages loaded model_dir=%s pairs=%s",
            directory,
            ",".join(f"{s}->{t}" for s, t in (p.pair for p in packages)),
        )
        return cls(packages, settings)

    @property
    def languages(self) -> dict[str, str]:
        """Language code -> name, for every language some package reads or writes."""
        names: dict[str, str] = {}
        for package in self.packages.values():
            names.setdefault(package.source, package.source_name)
            names.setdefault(package.target, package.target_name)
        return dict(sorted(names.items()))

    async def translate(
        self, texts: Sequence[str], source: str | None = None, target: str | None = None
    ) -> list[str]:
        return await self.translate_items([TextItem(t, source, target) for t in texts])

    async def translate_items(self, items: Sequence[TextItem]) -> list[str]:
        """Translate texts that may each name their own pair; results in input order."""
        return [result.translation for result in await self.translate_request(items)]

    async def translate_request(
        self, items: Sequence[TextItem], options: TranslationOptions = PLAIN
    ) -> list[TextTranslation]:
        """Like `translate_items`, with the alternatives and scores `options` ask for."""
        return await self._per_pair(
            items, lambda texts, pair: self._translate_texts(texts, pair, options)
        )

    async def explain_request(self, items: Sequence[TextItem]) -> list[TextExplanation]:
        """Each text's best translation with its scores and word alignments, sentence by
        sentence (`argos_protocol.explain`); in input order."""
        return await self._per_pair(items, self._explain_texts)

    async def _per_pair(
        self,
        items: Sequence[TextItem],
        translate: Callable[[list[str], Pair], Awaitable[list[Result]]],
    ) -> list[Result]:
        """`translate` called once per language pair among `items`, side by side; the
        results back in input order."""
        self._check_limits(items)
        groups: dict[Pair, list[int]] = {}
        for index, item in enumerate(items):
            groups.setdefault(self.resolve_pair(item.source, item.target), []).append(index)
        results: dict[int, Result] = {}

        async def run(pair: Pair, indexes: list[int]) -> None:
            translated = await translate([items[i].text for i in indexes], pair)
            results.update(zip(indexes, translated, strict=True))

        await asyncio.gather(*(run(pair, indexes) for pair, indexes in groups.items()))
        return [results[index] for index in range(len(items))]

    def resolve_pair(self, source: str | None, target: str | None) -> Pair:
        source = source or (self.default_pair[0] if self.default_pair else None)
        target = target or (self.default_pair[1] if self.default_pair else None)
        if source is None or target is None:
            raise InvalidRequest(
                "no default language pair: give 'source' and 'target'; installed pairs: "
                + ", ".join(f"{s}->{t}" for s, t in self.pairs)
            )
        if (source, target) not in self.pairs:
            raise UnknownLanguagePair(source, target, self.pairs)
        return (source, target)

    async def close(self) -> None:
        await self.batcher.close()

    async def _translate_texts(
        self, texts: list[str], pair: Pair, options: TranslationOptions
    ) -> list[TextTranslation]:
        splits = [split_sentences(text) for text in texts]
        sentences = [sentence for split in splits for sentence in split.sentences]
        hops = await self._translate_route(
            sentences, pair, Decoding(hypotheses=options.alternatives + 1)
        )
        log_probabilities = route_log_probabilities(hops)
        return [
            _text_translation(split, hops[-1][part], log_probabilities[part], options)
            for split, part in _per_text(splits)
        ]

    async def _explain_texts(self, texts: list[str], pair: Pair) -> list[TextExplanation]:
        splits = [split_sentences(text) for text in texts]
        sentences = [sentence for split in splits for sentence in split.sentences]
        hops = await self._translate_route(sentences, pair, EXPLAIN)
        log_probabilities = route_log_probabilities(hops)
        pivots = tuple(target for _, target in self._route(pair)[:-1])
        return [
            text_explanation(split, [hop[part] for hop in hops], log_probabilities[part], pivots)
            for split, part in _per_text(splits)
        ]

    async def _translate_route(
        self, sentences: list[str], pair: Pair, decoding: Decoding
    ) -> list[list[SentenceTranslation]]:
        """Each hop's translations of `sentences` along `pair`'s route, the last decoded as
        `decoding` asks. Through a pivot the best of each hop goes on (with attention when
        `decoding` asks for it)."""
        *pivots, last = self._route(pair)
        hops = []
        for hop in pivots:
            translated = await self._translate_sentences(
                sentences, hop, Decoding(attention=decoding.attention)
            )
            hops.append(translated)
            sentences = [sentence.best for sentence in translated]
        hops.append(await self._translate_sentences(sentences, last, decoding))
        return hops

    def _route(self, pair: Pair) -> list[Pair]:
        return plan_route(self.packages, *pair) or []

    async def _translate_sentences(
        self, sentences: list[str], pair: Pair, decoding: Decoding
    ) -> list[SentenceTranslation]:
        cache = self.caches.get(pair) if decoding == BEST else None
        if cache is None:
            return await self.batcher.submit((pair, decoding), sentences)
        label = f"{pair[0]}-{pair[1]}"
        results: list[SentenceTranslation | None] = [cache.get(s) for s in sentences]
        missing = [i for i, r in enumerate(results) if r is None]
        metrics.CACHE_HITS.labels(label).inc(len(sentences) - len(missing))
        metrics.CACHE_MISSES.labels(label).inc(len(missing))
        if missing:
            unique = list(dict.fromkeys(sentences[i] for i in missing))
            translated = dict(
                zip(unique, await self.batcher.submit((pair, decoding), unique), strict=True)
            )
            for sentence, translation in translated.items():
                cache.put(sentence, translation)
            for i in missing:
                results[i] = translated[sentences[i]]
        return [r for r in results if r is not None]

    def _run_batch(
        self, key: tuple[Pair, Decoding], sentences: list[str], wide: bool
    ) -> list[SentenceTranslation]:
        pair, decoding = key
        label = f"{pair[0]}-{pair[1]}"
        metrics.BATCH_SIZE.labels(label).observe(len(sentences))
        if wide:
            metrics.WIDE_BATCHES.labels(label).inc()
        with metrics.BATCH_SECONDS.labels(label).time():
            translations = self.engines[pair].translate(sentences, decoding, wide)
        metrics.SENTENCES.labels(label).inc(len(sentences))
        return translations

    def _check_limits(self, items: Sequence[TextItem]) -> None:
        limit = self.settings.max_texts
        if len(items) > limit:
            raise InvalidRequest(f"too many texts: {len(items)} (limit {limit} per request)")
        for index, item in enumerate(items):
            if len(item.text) > self.settings.max_text_chars:
                raise InvalidRequest(
                    f"text {index} is too long: {len(item.text)} characters "
                    f"(limit {self.settings.max_text_chars})"
                )

    def _default_pair(self) -> Pair | None:
        source, target = self.settings.default_source, self.settings.default_target
        if source and target:
            if (source, target) not in self.pairs:
                raise UnknownLanguagePair(source, target, self.pairs)
            return (source, target)
        if len(self.packages) == 1:
            return next(iter(self.packages))
        if ("en", "es") in self.pairs:
            return ("en", "es")
        return None


def _per_text(splits: Sequence[SplitText]) -> Iterator[tuple[SplitText, slice]]:
    """Each text with the slice its sentences take in the flat list of all texts' sentences."""
    start = 0
    for split in splits:
        end = start + len(split.sentences)
        yield split, slice(start, end)
        start = end


def _text_translation(
    split: SplitText,
    sentences: list[SentenceTranslation],
    log_probabilities: list[float],
    options: TranslationOptions,
) -> TextTranslation:
    """One text's translation, re-joined from its sentences; alternative k joins every
    sentence's k-th other hypothesis."""
    alternatives = tuple(
        split.join([s.hypotheses[min(k, len(s.hypotheses) - 1)] for s in sentences])
        for k in range(1, options.alternatives + 1)
    )
    return TextTranslation(
        split.join([s.best for s in sentences]),
        alternatives,
        text_log_probability(log_probabilities, sentences),
    )
