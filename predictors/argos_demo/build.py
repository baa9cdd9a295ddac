"""The whole pipeline: corpus → SentencePiece → torch training → CTranslate2 → .argosmodel → eval.

The artifact is only replaced when the new package passes the evaluation.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import ctranslate2
import sentencepiece
import torch

from argos_demo import PACKAGE_NAME
from argos_demo.argos_package import write_argos_package
from argos_demo.corpus import CorpusSpec, corpus_digest, development_pairs, training_pairs
from argos_demo.evaluation import EvaluationReport, evaluate_package
from argos_demo.export import export_ctranslate2
from argos_demo.logs import event, get_logger
from argos_demo.model import ModelConfig
from argos_demo.paths import ARTIFACT_PATH, DEFAULT_WORK_DIR
from argos_demo.training import TrainingConfig, TrainingResult, train
from argos_demo.vocabulary import load_processor, train_sentencepiece, vocabulary_tokens

log = get_logger("build")



@dataclass(frozen=True)
class BuildSettings:
    corpus: CorpusSpec = field(default_factory=CorpusSpec)
    # vocab_size is filled in from the trained SentencePiece model.
    model: ModelConfig = field(default_factory=lambda: ModelConfig(vocab_size=0))
    training: TrainingConfig = field(default_factory=TrainingConfig)
    sentencepiece_vocab_size: int = 256
    quantization: str | None = "int8"


class BuildFailed(RuntimeError):
    pass


@dataclass
class BuildResult:
    package: Path
    training: TrainingResult
    evaluation: EvaluationReport
    seconds: float


def _training_record(
    settings: BuildSettings,
    model_config: ModelConfig,
    digest: str,
    sentences: int,
    result: TrainingResult,
) -> dict:
    """What training.json records; nothing time- or machine-dependent, so rebuilds are stable."""
    return {
        "corpus": settings.corpus.to_dict(),
        "training_sentences": sentences,
        "training_digest": digest,
        "vocabulary": {"type": "sentencepiece-unigram", "size": model_config.vocab_size},
        "model": model_config.to_dict(),
        "training": settings.training.to_dict(),
        "result": {
            "steps": result.steps,
            "final_loss": round(result.final_loss, 4),
            "dev_exact": result.dev_exact,
        },
        "export": {"format": "ctranslate2", "quantization": settings.quantization},
        "versions": {
            "torch": torch.__version__.split("+")[0],
            "ctranslate2": ctranslate2.__version__,
            "sentencepiece": sentencepiece.__version__,
        },
    }


def build(
    output: Path = ARTIFACT_PATH,
    work_dir: Path = DEFAULT_WORK_DIR,
    settings: BuildSettings | None = None,
    progress: bool = True,
) -> BuildResult:
    settings = settings or BuildSettings()
    started = time.monotonic()
    if work_dir.exists():
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True)

    train_set = training_pairs(settings.corpus)
    dev_set = development_pairs(settings.corpus, train_set)
    digest = corpus_digest(train_set)
    event(log, "corpus", training=len(train_set), development=len(dev_set), digest=digest[:12])

    sp_path = train_sentencepiece(
        (s for p in train_set for s in (p.en, p.es)),
        work_dir / "sentencepiece.model",
        settings.sentencepiece_vocab_size,
    )
    processor = load_processor(sp_path)
    vocabulary = vocabulary_tokens(processor)
    event(log, "sentencepiece", pieces=len(vocabulary), path=sp_path)

    model_config = dataclasses.replace(settings.model, vocab_size=len(vocabulary))
    result = train(model_config, settings.training, processor, train_set, dev_set, progress)

    model_dir = export_ctranslate2(
        result.model, vocabulary, work_dir / "model", settings.quantization
    )
    event(
        log, "exported", path=model_dir, quantization=settings.quantization,
        bytes=sum(f.stat().st_size for f in model_dir.iterdir()),
    )

    record = _training_record(settings, model_config, digest, len(train_set), result)
    candidate = write_argos_package(
        work_dir / f"{PACKAGE_NAME}.argosmodel", model_dir, sp_path, record
    )
    event(log, "packaged", path=candidate, bytes=candidate.stat().st_size)

    report = evaluate_package(candidate)
    if not report.passed:
        raise BuildFailed(
            f"exact match {report.exact_match:.1%} with {len(report.example_failures)} README "
            f"examples wrong does not pass; {output} left unchanged"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    shutil.copyfile(candidate, partial)
    os.replace(partial, output)
    seconds = time.monotonic() - started
    event(
        log, "build_done", artifact=output, bytes=output.stat().st_size, seconds=round(seconds, 1)
    )
    return BuildResult(output, result, report, seconds)
