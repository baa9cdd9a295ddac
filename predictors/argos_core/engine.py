"""One CTranslate2 translator and its SentencePiece tokenizer per language pair."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass

import ctranslate2

from argos_core.errors import PackageError
from argos_core.packages import ArgosPackage
from argos_core.settings import EngineSettings

logger = logging.getLogger("argos_core.engine")


@dataclass(frozen=True)
class Decoding:
    """How one batch is decoded; requests that differ in it are batched apart."""

    hypotheses: int = 1  # translations per sentence, best first (beam widened to fit)


BEST = Decoding()


@dataclass(frozen=True)
class SentenceTranslation:
    """The engine's answer for one sentence: its hypotheses, best first, and the best one's
    mean token log-probability (CTranslate2's length-normalised score) and length."""

    hypotheses: tuple[str, ...]
    log_probability: float
    tokens: int

    @property
    def best(self) -> str:
        return self.hypotheses[0]


def concrete_settings(settings: EngineSettings) -> EngineSettings:
    """`settings` with the device and the number of parallel batches decided for this machine."""
    cuda_devices = ctranslate2.get_cuda_device_count() if settings.device == "auto" else 0
    return settings.resolved(cuda_devices)


class PairEngine:
    """Translates batches of sentences for one package; thread-safe, called off the event loop."""

    def __init__(self, package: ArgosPackage, settings: EngineSettings) -> None:
        from argostranslate.tokenizer import SentencePieceTokenizer

        self.package = package
        self.settings = concrete_settings(settings)
        self.device = self.settings.device
        try:
            self._translator = self._load_translator()
            self._sp = SentencePieceTokenizer(package.sentencepiece_model).lazy_processor()
        except (RuntimeError, ValueError, OSError) as exc:
            raise PackageError(f"{package.origin}: cannot load model: {exc}") from exc
        self._pid = os.getpid()
        self._prefix = [package.target_prefix] if package.target_prefix else None
        logger.info(
            "engine loaded pair=%s->%s version=%s device=%s compute_type=%s "
            "inter_threads=%d intra_threads=%d",
            package.source,
            package.target,
            package.version,
            self.device,
            self._translator.compute_type,
            self.settings.inter_threads,
            self.settings.intra_threads,
        )

    @property
    def translator(self) -> ctranslate2.Translator:
        # CTranslate2's thread pool does not survive fork (KServe's --workers > 1 forks after
        # load): a forked worker loads its own translator on first use.
        if self._pid != os.getpid():
            self._translator = self._load_translator()
            self._pid = os.getpid()
        return self._translator

    def _decoding_limit(self, tokens: list[list[str]]) -> int:
        # CTranslate2 has no length-ratio option: a model that loops on out-of-domain input
        # would otherwise decode up to the absolute cap for every sentence in the batch.
        longest = max((len(t) for t in tokens), default=0)
        return min(self.settings.max_decoding_length, 2 * longest + 10)

    def _load_translator(self) -> ctranslate2.Translator:
        return ctranslate2.Translator(
            str(self.package.model_dir),
            device=self.device,
            compute_type=self.settings.compute_type,
            inter_threads=self.settings.inter_threads,
            intra_threads=self.settings.intra_threads,
        )

    def translate(
        self, sentences: Sequence[str], decoding: Decoding = BEST
    ) -> list[SentenceTranslation]:
        tokens = self._sp.encode(list(sentences), out_type=str)
        results = self.translator.translate_batch(
            tokens,
            target_prefix=[self._prefix] * len(tokens) if self._prefix else None,
            beam_size=max(self.settings.beam_size, decoding.hypotheses),
            num_hypotheses=decoding.hypotheses,
            max_decoding_length=self._decoding_limit(tokens),
            max_batch_size=self.settings.max_batch_tokens,
            batch_type="tokens",
            replace_unknowns=True,
            return_scores=True,
        )
        skip = len(self._prefix) if self._prefix else 0
        return [
            SentenceTranslation(
                tuple(self._sp.decode_pieces(pieces[skip:]) for pieces in result.hypotheses),
                result.scores[0],
                len(result.hypotheses[0]) - skip,
            )
            for result in results
        ]
