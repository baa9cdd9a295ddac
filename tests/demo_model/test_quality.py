"""Translation quality of the committed artifact, through the project's translation core."""

from __future__ import annotations

from pathlib import Path

from argos_demo.argos_package import read_training_record
from argos_demo.corpus import CorpusSpec, corpus_digest, training_pairs
from argos_demo.evaluation import evaluate_package, fresh_sentences, translate_with_core
from tests.conftest import DEMO_EXAMPLES


def test_evaluation_sentences_are_fresh(artifact: Path) -> None:
    record = read_training_record(artifact)
    training = training_pairs(CorpusSpec(**record["corpus"]))
    assert corpus_digest(training) == record["training_digest"]
    fresh = fresh_sentences(artifact)
    assert len(fresh) == 300
    assert not {p.en for p in fresh} & {p.en for p in training}


def test_exact_match_on_fresh_sentences(artifact: Path) -> None:
    report = evaluate_package(artifact)
    assert report.sentences == 300
    assert report.exact_match >= 0.95, report.failures[:10]
    assert report.bleu >= 90.0
    assert not report.example_failures
    assert report.passed


def test_readme_examples_translate_exactly(artifact: Path) -> None:
    english = [en for en, _ in DEMO_EXAMPLES]
    assert translate_with_core(artifact, english) == [es for _, es in DEMO_EXAMPLES]
    # Several sentences in one text are translated sentence by sentence.
    joined = translate_with_core(artifact, [" ".join(english[:3])])
    assert joined == [" ".join(es for _, es in DEMO_EXAMPLES[:3])]
