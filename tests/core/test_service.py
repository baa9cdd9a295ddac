"""The service end to end on the embedded model: examples, pivoting, cache, limits."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from argos_core import EngineSettings, InvalidRequest, TranslationService, UnknownLanguagePair
from argos_protocol import TextItem, TextTranslation, TranslationOptions
from tests.conftest import DEMO_EXAMPLES
from tests.core.conftest import relabelled_copy

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]


@pytest.fixture
async def service():
    svc = TranslationService.from_directory(None, EngineSettings(max_wait_ms=5))
    yield svc
    await svc.close()


async def test_translates_the_demo_examples(service: TranslationService) -> None:
    assert service.pairs == [("en", "es")]
    assert service.default_pair == ("en", "es")
    assert await service.translate(ENGLISH) == SPANISH


async def test_concurrent_calls_match_sequential_results(service: TranslationService) -> None:
    results = await asyncio.gather(*(service.translate([t]) for t in ENGLISH * 4))
    assert [r[0] for r in results] == SPANISH * 4


async def test_the_wide_replica_translates_like_the_narrow_ones() -> None:
    """A lone request runs on the replica with every thread (`wide_threads`); its answers
    are the same as the one-thread replicas' under concurrency."""
    settings = EngineSettings(max_wait_ms=5, inter_threads=2, intra_threads=1, wide_threads=2)
    svc = TranslationService.from_directory(None, settings)
    wide_batches = REGISTRY.get_sample_value("argos_wide_batches_total", {"pair": "en-es"}) or 0
    try:
        assert svc.engines[("en", "es")].has_wide  # asked for: no calibration
        assert [(await svc.translate([t]))[0] for t in ENGLISH] == SPANISH
        wide_after = REGISTRY.get_sample_value("argos_wide_batches_total", {"pair": "en-es"})
        assert wide_after == wide_batches + len(ENGLISH)
        explained = await svc.explain_request([TextItem(ENGLISH[0])])
        assert explained[0].translation == SPANISH[0]
        results = await asyncio.gather(*(svc.translate([t]) for t in ENGLISH * 2))
        assert [r[0] for r in results] == SPANISH * 2
    finally:
        await svc.close()


async def test_auto_wide_threads_keep_the_wide_replica_only_when_it_is_faster(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`wide_threads` 0 times both replicas on one sentence at load and says what it chose;
    either way the answers are the same."""
    settings = EngineSettings(max_wait_ms=5, inter_threads=2, intra_threads=1, wide_threads=0)
    with caplog.at_level("INFO", logger="argos_core.engine"):
        svc = TranslationService.from_directory(None, settings)
    try:
        (line,) = [r.getMessage() for r in caplog.records if "calibrated" in r.getMessage()]
        assert f"kept={svc.engines[('en', 'es')].has_wide}" in line
        assert [(await svc.translate([t]))[0] for t in ENGLISH] == SPANISH
    finally:
        await svc.close()


async def test_limits_and_unknown_pairs(service: TranslationService) -> None:
    with pytest.raises(UnknownLanguagePair, match="installed pairs: en->es"):
        await service.translate(["x"], "en", "de")
    small = TranslationService(
        list(service.packages.values()), EngineSettings(max_texts=2, max_text_chars=5)
    )
    with pytest.raises(InvalidRequest, match="too many texts: 3"):
        await small.translate(["a", "b", "c"])
    with pytest.raises(InvalidRequest, match="text 1 is too long: 6 characters"):
        await small.translate(["a", "abcdef"])
    await small.close()


async def test_pivots_through_english(tmp_path: Path, unpacked_demo: Path) -> None:
    # "xx->en" is the demo model relabelled: xx->es must go xx->en then en->es.
    relabelled_copy(unpacked_demo, tmp_path, "xx", "en")
    relabelled_copy(unpacked_demo, tmp_path, "en", "es")
    svc = TranslationService.from_directory(tmp_path, EngineSettings(max_wait_ms=1))
    assert ("xx", "es") in svc.pairs
    assert svc.default_pair == ("en", "es")
    first_hop = await svc.translate(ENGLISH[:3], "xx", "en")
    assert first_hop == SPANISH[:3]
    assert await svc.translate(ENGLISH[:3], "xx", "es") == await svc.translate(
        first_hop, "en", "es"
    )
    mixed = await svc.translate_items(
        [TextItem(ENGLISH[0], "en", "es"), TextItem(ENGLISH[1], "xx", "es"), TextItem(ENGLISH[2])]
    )
    assert mixed[0] == SPANISH[0] and mixed[2] == SPANISH[2]
    await svc.close()


def cache_counter(name: str) -> float:
    return REGISTRY.get_sample_value(f"argos_cache_{name}_total", {"pair": "en-es"}) or 0.0


async def test_cache_serves_repeats_and_counts_hits(unpacked_demo: Path) -> None:
    svc = TranslationService.from_directory(unpacked_demo, EngineSettings(cache_size=2))
    hits, misses = cache_counter("hits"), cache_counter("misses")
    assert await svc.translate([ENGLISH[0], ENGLISH[0]]) == [SPANISH[0]] * 2
    assert await svc.translate([ENGLISH[0]]) == [SPANISH[0]]
    assert cache_counter("misses") - misses == 2
    assert cache_counter("hits") - hits == 1
    await svc.translate(ENGLISH[1:4])
    assert len(svc.caches[("en", "es")]) == 2
    await svc.close()


async def test_empty_and_blank_texts_come_back_unchanged(service: TranslationService) -> None:
    assert await service.translate(["", "  ", ENGLISH[0]]) == ["", "  ", SPANISH[0]]


async def test_options_add_alternatives_and_a_confidence(service: TranslationService) -> None:
    in_domain, out_of_domain, blank = "The small dog sleeps. My city is big.", "Quantum flux.", " "
    results = await service.translate_request(
        [TextItem(in_domain), TextItem(out_of_domain), TextItem(blank)],
        TranslationOptions(alternatives=3, return_scores=True),
    )
    assert results[0].translation == f"{SPANISH[0]} {SPANISH[7]}"
    assert all(len(result.alternatives) == 3 for result in results)
    assert results[0].translation not in results[0].alternatives
    assert 0 < results[1].confidence < results[0].confidence <= 1
    assert results[2] == TextTranslation(blank, (blank,) * 3)


async def test_plain_options_keep_the_translations(service: TranslationService) -> None:
    plain = await service.translate_request([TextItem(text) for text in ENGLISH])
    assert [result.translation for result in plain] == SPANISH
    assert all(result.alternatives == () for result in plain)
