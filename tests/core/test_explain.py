"""Explanations on the embedded demo model: the alignments follow the grammar (the Spanish
adjective comes after its noun), the scores separate in-domain from out-of-domain input, and
explaining decodes apart from plain translation without changing it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from argos_core import EngineSettings, InvalidRequest, TranslationService
from argos_core.engine import BEST, EXPLAIN
from argos_protocol import TextItem, TranslationOptions
from argos_protocol.explain import TextExplanation
from tests.conftest import DEMO_EXAMPLES
from tests.core.conftest import relabelled_copy

ENGLISH = [english for english, _ in DEMO_EXAMPLES]
SPANISH = [spanish for _, spanish in DEMO_EXAMPLES]
OUT_OF_DOMAIN = "Quantum chromodynamics describes gluons."

# Target word -> the source word it must draw on most, where the grammar fixes the order.
EXPECTED_ALIGNMENTS = {
    "The small dog sleeps.": {
        "perro": "dog",
        "pequeño": "small",
        "duerme": "sleeps",
    },
    "A girl reads the new book.": {"niña": "girl", "libro": "book", "nuevo": "new"},
    "My friends buy the red apples.": {"manzanas": "apples", "rojas": "red"},
    "This old man has a blue car.": {
        "hombre": "man",
        "viejo": "old",
        "tiene": "has",
        "coche": "car",
        "azul": "blue",
    },
    "These happy women sing.": {"mujeres": "women", "felices": "happy", "cantan": "sing"},
    "The cat sees a beautiful flower.": {"gato": "cat", "flor": "flower", "hermosa": "beautiful"},
}


@pytest.fixture
async def service():
    svc = TranslationService.from_directory(None, EngineSettings(max_wait_ms=5))
    yield svc
    await svc.close()


def heaviest_source(explained: TextExplanation) -> dict[str, str]:
    """Target word -> its heaviest source word (alignments list the heaviest first)."""
    found: dict[str, str] = {}
    for sentence in explained.sentences:
        for alignment in sentence.alignments:
            found.setdefault(alignment.target.text, alignment.source.text)
    return found


async def test_alignments_follow_the_grammar(service: TranslationService) -> None:
    sentences = list(EXPECTED_ALIGNMENTS)
    explained = await service.explain_request([TextItem(text) for text in sentences])
    for text, result in zip(sentences, explained, strict=True):
        best = heaviest_source(result)
        for target, source in EXPECTED_ALIGNMENTS[text].items():
            assert best.get(target) == source, (text, target, best)


async def test_a_multi_sentence_text_is_explained_sentence_by_sentence(
    service: TranslationService,
) -> None:
    text = "  The small dog sleeps.\n\nMy city is big. These happy women sing. "
    (explained,) = await service.explain_request([TextItem(text)])
    (translation,) = await service.translate([text])
    assert explained.translation == translation
    assert [s.source.text for s in explained.sentences] == [
        "The small dog sleeps.",
        "My city is big.",
        "These happy women sing.",
    ]
    for sentence in explained.sentences:
        assert text[sentence.source.start : sentence.source.end] == sentence.source.text
        span = sentence.translation
        assert translation[span.start : span.end] == span.text
        for alignment in sentence.alignments:
            source, target = alignment.source, alignment.target
            assert sentence.source.start <= source.start < source.end <= sentence.source.end
            assert text[source.start : source.end] == source.text
            assert translation[target.start : target.end] == target.text
            assert 0.1 <= alignment.weight <= 1 + 1e-6
    assert heaviest_source(explained)["ciudad"] == "city"
    assert heaviest_source(explained)["felices"] == "happy"


async def test_explanations_keep_the_translation_and_score_of_predict(
    service: TranslationService,
) -> None:
    items = [TextItem(text) for text in [*ENGLISH, OUT_OF_DOMAIN, "", "  "]]
    explained, predicted = await asyncio.gather(
        service.explain_request(items),
        service.translate_request(items, TranslationOptions(return_scores=True)),
    )
    assert [e.translation for e in explained] == [p.translation for p in predicted]
    assert [e.confidence for e in explained] == pytest.approx([p.confidence for p in predicted])
    assert [e.sentences for e in explained[-2:]] == [(), ()]


async def test_confidence_is_lower_out_of_domain(service: TranslationService) -> None:
    explained = await service.explain_request([TextItem(t) for t in [*ENGLISH, OUT_OF_DOMAIN]])
    *in_domain, out_of_domain = explained
    assert all(0 < e.confidence <= 1 for e in explained)
    assert out_of_domain.confidence < min(e.confidence for e in in_domain)
    assert max(e.log_probability for e in [out_of_domain]) < min(
        e.log_probability for e in in_domain
    )
    sentence = out_of_domain.sentences[0]
    assert sentence.confidence == pytest.approx(out_of_domain.confidence)


async def test_explain_checks_requests_like_translate(service: TranslationService) -> None:
    with pytest.raises(InvalidRequest, match="unknown language pair en->de"):
        await service.explain_request([TextItem("a", "en", "de")])
    small = TranslationService(list(service.packages.values()), EngineSettings(max_texts=1))
    with pytest.raises(InvalidRequest, match="too many texts: 2"):
        await small.explain_request([TextItem("a"), TextItem("b")])
    await small.close()


def test_attention_in_a_batch_is_the_attention_alone(service: TranslationService) -> None:
    """CTranslate2's beam search gives a batch's sentences the wrong first attention row; the
    engine's correction makes each sentence's attention independent of its batch."""
    engine = service.engines[("en", "es")]
    assert engine.settings.beam_size > 1
    batch = [*ENGLISH, OUT_OF_DOMAIN]
    together = engine.translate(batch, EXPLAIN)
    for text, in_batch in zip(batch, together, strict=True):
        (alone,) = engine.translate([text], EXPLAIN)
        assert in_batch.hypotheses == alone.hypotheses
        assert in_batch.attention is not None and alone.attention is not None
        np.testing.assert_allclose(in_batch.attention.weights, alone.attention.weights, atol=0.02)
    plain = engine.translate(batch, BEST)
    assert [p.hypotheses for p in plain] == [t.hypotheses for t in together]
    assert all(p.attention is None for p in plain)


async def test_explains_and_translations_batch_apart(service: TranslationService) -> None:
    """Side by side, each keeps its decoding: an explained sentence decoded in a plain batch
    would have no attention to explain (and plain batches stay as fast as before)."""
    explained, translated = await asyncio.gather(
        service.explain_request([TextItem(t) for t in ENGLISH]),
        service.translate(ENGLISH),
    )
    assert translated == SPANISH
    assert [e.translation for e in explained] == SPANISH
    assert all(e.sentences[0].alignments for e in explained)


async def test_a_pivoted_explanation_aligns_source_and_target_through_english(
    tmp_path: Path, unpacked_demo: Path
) -> None:
    # "xx->en" is the demo model relabelled: xx->es goes xx->en then en->es.
    relabelled_copy(unpacked_demo, tmp_path, "xx", "en")
    relabelled_copy(unpacked_demo, tmp_path, "en", "es")
    svc = TranslationService.from_directory(tmp_path, EngineSettings(max_wait_ms=1))
    text = "The small dog sleeps."
    (pivoted,) = await svc.explain_request([TextItem(text, "xx", "es")])
    (direct,) = await svc.explain_request([TextItem(text, "en", "es")])
    (first_hop,) = await svc.explain_request([TextItem(text, "xx", "en")])
    (second_hop,) = await svc.explain_request([TextItem(first_hop.translation, "en", "es")])
    assert pivoted.pivots == ("en",) and direct.pivots == ()
    assert pivoted.translation == second_hop.translation
    assert pivoted.log_probability == pytest.approx(
        first_hop.log_probability + second_hop.log_probability, abs=0.01
    )
    (sentence,) = pivoted.sentences
    assert sentence.source.text == text
    for alignment in sentence.alignments:
        assert text[alignment.source.start : alignment.source.end] == alignment.source.text
        target = alignment.target
        assert pivoted.translation[target.start : target.end] == target.text
    assert sentence.alignments, "the composed weights keep the strong links"
    await svc.close()
