"""Evaluate an `.argosmodel` on fresh domain sentences through the project's translation core.

Fresh means: sampled with the evaluation seed and not in the package's training set, which is
regenerated from the corpus settings the package records in training.json.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import sacrebleu

from argos_demo.argos_package import read_training_record
from argos_demo.corpus import (
    EVAL_SEED,
    EVAL_SIZE,
    CorpusSpec,
    corpus_digest,
    held_out_pairs,
    training_pairs,
)
from argos_demo.grammar import README_EXAMPLES, SentencePair
from argos_demo.logs import event, get_logger

log = get_logger("evaluation")

PASS_EXACT_MATCH = 0.95


@dataclass
class EvaluationReport:
    """Scores on fresh sentences, plus the README examples, which must all be exact."""

    sentences: int
    exact_match: float
    bleu: float
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (en, expected, got)
    example_failures: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.exact_match >= PASS_EXACT_MATCH and not self.example_failures

    def summary(self) -> dict:
        return {
            "sentences": self.sentences,
            "exact_match": round(self.exact_match, 4),
            "bleu": round(self.bleu, 2),
            "failures": len(self.failures),
            "readme_examples_wrong": len(self.example_failures),
        }


async def _translate_with_core(package: Path, texts: list[str]) -> list[str]:
    from argos_core.service import TranslationService
    from argos_core.settings import EngineSettings

    with tempfile.TemporaryDirectory(prefix="argos-demo-eval-") as scratch:
        model_dir = Path(scratch) / "models"
        model_dir.mkdir()
        # The core serves every package in a directory: give it exactly this one.
        shutil.copy2(package, model_dir / package.name)
        settings = EngineSettings(
            extract_dir=str(Path(scratch) / "extracted"), max_texts=max(len(texts), 1)
        )
        service = TranslationService.from_directory(model_dir, settings)
        try:
            return await service.translate(texts, "en", "es")
        finally:
            await service.close()


def translate_with_core(package: Path, texts: list[str]) -> list[str]:
    return asyncio.run(_translate_with_core(package, texts))


def _wrong(pairs: list[SentencePair], hypotheses: list[str]) -> list[tuple[str, str, str]]:
    return [(p.en, p.es, h) for p, h in zip(pairs, hypotheses, strict=True) if h != p.es]


def score(
    pairs: list[SentencePair],
    hypotheses: list[str],
    example_failures: list[tuple[str, str, str]] | None = None,
) -> EvaluationReport:
    failures = _wrong(pairs, hypotheses)
    return EvaluationReport(
        sentences=len(pairs),
        exact_match=1 - len(failures) / len(pairs),
        bleu=sacrebleu.corpus_bleu(hypotheses, [[p.es for p in pairs]]).score,
        failures=failures,
        example_failures=example_failures or [],
    )


def fresh_sentences(
    package: Path, count: int = EVAL_SIZE, seed: int = EVAL_SEED
) -> list[SentencePair]:
    record = read_training_record(package)
    corpus = CorpusSpec(**record["corpus"])
    training = training_pairs(corpus)
    if corpus_digest(training) != record["training_digest"]:
        raise ValueError(
            f"{package}: the regenerated training set does not match training.json's digest"
        )
    return held_out_pairs(seed, count, training)


def evaluate_package(
    package: Path, count: int = EVAL_SIZE, seed: int = EVAL_SEED
) -> EvaluationReport:
    pairs = fresh_sentences(package, count, seed)
    examples = list(README_EXAMPLES)
    translated = translate_with_core(package, [p.en for p in pairs + examples])
    report = score(pairs, translated[: len(pairs)], _wrong(examples, translated[len(pairs) :]))
    event(log, "evaluation", package=package.name, seed=seed, **report.summary())
    for english, expected, got in report.example_failures + report.failures[:10]:
        event(log, "evaluation_failure", source=english, expected=expected, got=got)
    return report
