"""One CTranslate2 translator and its SentencePiece tokenizer per language pair."""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import ctranslate2

from argos_core.alignment import PieceAttention
from argos_core.errors import PackageError
from argos_core.packages import ArgosPackage
from argos_core.settings import EngineSettings

logger = logging.getLogger("argos_core.engine")

CALIBRATION_TEXT = "The weather in the old city was warm and quiet this morning."
CALIBRATION_ROUNDS = 2
CALIBRATION_TOKENS = 8  # decoding steps timed: enough to compare, cheap at load
WIDE_MARGIN = 0.9  # the wide replica stays only when at least 10% faster on one sentence


@dataclass(frozen=True)
class Decoding:
    """How one batch is decoded; requests that differ in it are batched apart."""

    hypotheses: int = 1  # translations per sentence, best first (beam widened to fit)
    attention: bool = False  # the best hypothesis's attention over the source pieces


BEST = Decoding()
EXPLAIN = Decoding(attention=True)


@dataclass(frozen=True)
class SentenceTranslation:
    """The engine's answer for one sentence: its hypotheses, best first, the best one's mean
    token log-probability (CTranslate2's length-normalised score) and length, and its
    attention when the decoding asked for it."""

    hypotheses: tuple[str, ...]
    log_probability: float
    tokens: int
    attention: PieceAttention | None = None

    @property
    def best(self) -> str:
        return self.hypotheses[0]


def concrete_settings(settings: EngineSettings) -> EngineSettings:
    """`settings` with the device and the number of parallel batches decided for this machine."""
    cuda_devices = ctranslate2.get_cuda_device_count() if settings.device == "auto" else 0
    return settings.resolved(cuda_devices)


class PairEngine:
    """Translates batches of sentences for one package; thread-safe, called off the event loop.

    Two layouts of one model: `inter_threads` replicas with `intra_threads` each (several
    batches side by side, the most throughput) and, when `wide_threads` asks for it, one
    replica with more threads for a batch alone (less latency, on CPUs where more threads
    help one sentence: with `wide_threads` 0 a calibration at load decides). The caller says
    which a batch gets (`wide`); the batcher gives it to a batch alone.
    """

    def __init__(self, package: ArgosPackage, settings: EngineSettings) -> None:
        from argostranslate.tokenizer import SentencePieceTokenizer

        self.package = package
        self.settings = concrete_settings(settings)
        self.device = self.settings.device
        try:
            self._translator = self._load_translator()
            self._wide_translator = self._load_wide_translator()
            self._sp = SentencePieceTokenizer(package.sentencepiece_model).lazy_processor()
        except (RuntimeError, ValueError, OSError) as exc:
            raise PackageError(f"{package.origin}: cannot load model: {exc}") from exc
        self._pid = os.getpid()
        self._prefix = [package.target_prefix] if package.target_prefix else None
        # Attention columns are encoder positions: a model that prepends <s> to the source has
        # one before the first piece.
        self._source_start = 1 if _model_config(package).get("add_source_bos") else 0
        if self._wide_translator is not None and not self.settings.wide_threads:
            self._keep_wide_if_faster()
        logger.info(
            "engine loaded pair=%s->%s version=%s device=%s compute_type=%s "
            "inter_threads=%d intra_threads=%d wide_threads=%d",
            package.source,
            package.target,
            package.version,
            self.device,
            self._translator.compute_type,
            self.settings.inter_threads,
            self.settings.intra_threads,
            self.settings.wide_thread_count if self._wide_translator else 0,
        )

    @property
    def has_wide(self) -> bool:
        """Whether a batch alone gets a replica with more threads."""
        return self._wide_translator is not None

    def _keep_wide_if_faster(self) -> None:
        """Time a few decoding steps of one sentence on both replicas (after a warm-up,
        interleaved, median); drop the wide one unless it is clearly faster. More OpenMP
        threads do not always help one sentence: on the 2-core AMD EPYC build machine two
        threads take 2.2x as long."""
        tokens = self._sp.encode([CALIBRATION_TEXT], out_type=str)
        seconds: dict[bool, list[float]] = {False: [], True: []}
        for round_ in range(CALIBRATION_ROUNDS + 1):
            for wide in (False, True):
                started = time.perf_counter()
                self.translator(wide).translate_batch(
                    tokens, beam_size=self.settings.beam_size,
                    max_decoding_length=CALIBRATION_TOKENS,
                )
                if round_:  # the first round warms both replicas up
                    seconds[wide].append(time.perf_counter() - started)
        narrow, wide = statistics.median(seconds[False]), statistics.median(seconds[True])
        keep = wide < WIDE_MARGIN * narrow
        logger.info(
            "wide replica calibrated pair=%s->%s narrow_ms=%.1f wide_ms=%.1f kept=%s",
            self.package.source, self.package.target, narrow * 1000, wide * 1000, keep,
        )
        if not keep:
            self._wide_translator.unload_model()
            self._wide_translator = None
            _return_freed_memory()

    def translator(self, wide: bool = False) -> ctranslate2.Translator:
        """The replica for a batch: the wide one when asked for and loaded."""
        # CTranslate2's thread pool does not survive fork (KServe's --workers > 1 forks after
        # load): a forked worker loads its own translators on first use.
        if self._pid != os.getpid():
            self._translator = self._load_translator()
            if self._wide_translator is not None:
                self._wide_translator = self._load_wide_translator()
            self._pid = os.getpid()
        if wide and self._wide_translator is not None:
            return self._wide_translator
        return self._translator

    def _decoding_limit(self, tokens: list[list[str]]) -> int:
        # CTranslate2 has no length-ratio option: a model that loops on out-of-domain input
        # would otherwise decode up to the absolute cap for every sentence in the batch.
        longest = max((len(t) for t in tokens), default=0)
        return min(self.settings.max_decoding_length, 2 * longest + 10)

    def _load_translator(
        self, inter_threads: int | None = None, intra_threads: int | None = None
    ) -> ctranslate2.Translator:
        return ctranslate2.Translator(
            str(self.package.model_dir),
            device=self.device,
            compute_type=self.settings.compute_type,
            inter_threads=inter_threads or self.settings.inter_threads,
            intra_threads=intra_threads or self.settings.intra_threads,
        )

    def _load_wide_translator(self) -> ctranslate2.Translator | None:
        threads = self.settings.wide_thread_count
        return self._load_translator(inter_threads=1, intra_threads=threads) if threads else None

    def translate(
        self, sentences: Sequence[str], decoding: Decoding = BEST, wide: bool = False
    ) -> list[SentenceTranslation]:
        """Translate one batch; `wide`: on the replica that uses every core (when loaded)."""
        if decoding.attention:
            return self._translate_with_attention(sentences, decoding, wide)
        tokens = self._sp.encode(list(sentences), out_type=str)
        results = self._translate_batch(tokens, decoding, wide)
        skip = len(self._prefix) if self._prefix else 0
        return [
            SentenceTranslation(
                tuple(self._sp.decode_pieces(pieces[skip:]) for pieces in result.hypotheses),
                result.scores[0],
                len(result.hypotheses[0]) - skip,
            )
            for result in results
        ]

    def _translate_batch(
        self, tokens: list[list[str]], decoding: Decoding, wide: bool, **options: Any
    ) -> list[ctranslate2.TranslationResult]:
        return self.translator(wide).translate_batch(
            tokens,
            target_prefix=[self._prefix] * len(tokens) if self._prefix else None,
            beam_size=max(self.settings.beam_size, decoding.hypotheses),
            num_hypotheses=decoding.hypotheses,
            max_decoding_length=self._decoding_limit(tokens),
            max_batch_size=self.settings.max_batch_tokens,
            batch_type="tokens",
            replace_unknowns=True,
            return_scores=True,
            **options,
        )

    def _translate_with_attention(
        self, sentences: Sequence[str], decoding: Decoding, wide: bool
    ) -> list[SentenceTranslation]:
        """Like `translate`, with each piece's character span and the best hypothesis's
        attention (`PieceAttention`)."""
        encoded = self._sp.encode(list(sentences), out_type="offset_mapping")
        tokens = [source["pieces"] for source in encoded]
        results = self._translate_batch(tokens, decoding, wide, return_attention=True)
        first_rows = self._first_attention_rows(tokens, decoding, wide)
        skip = len(self._prefix) if self._prefix else 0
        translations = []
        for sentence, source, result, first_row in zip(
            sentences, encoded, results, first_rows, strict=True
        ):
            best = self._sp.decode(result.hypotheses[0][skip:], out_type="offset_mapping")
            columns = slice(self._source_start, self._source_start + len(source["pieces"]))
            rows = [row[columns] for row in result.attention[0][skip:]]
            if rows and first_row is not None:
                rows[0] = first_row[columns]
            attention = PieceAttention(
                sentence, best["text"], source["offsets"], best["offsets"], rows
            )
            others = (self._sp.decode_pieces(h[skip:]) for h in result.hypotheses[1:])
            translations.append(
                SentenceTranslation(
                    (best["text"], *others),
                    result.scores[0],
                    len(best["pieces"]),
                    attention,
                )
            )
        return translations

    def _first_attention_rows(
        self, tokens: list[list[str]], decoding: Decoding, wide: bool
    ) -> list[list[float] | None]:
        """The first target token's attention, for batches where CTranslate2's own is wrong.

        CTranslate2 4.8's beam search runs its first step on the unexpanded batch, then picks
        that step's attention by batch index from rows already repeated per beam: with a beam
        above 1 and more than one sentence, a sentence gets another's first row (later steps
        are right). The first step sees only the source and the start token, so one greedy
        step over the same batch computes the same row, correctly. A target prefix makes the
        first step the prefix's, which is not reported.
        """
        beam = max(self.settings.beam_size, decoding.hypotheses)
        if beam == 1 or len(tokens) == 1 or self._prefix:
            return [None] * len(tokens)
        results = self.translator(wide).translate_batch(
            tokens,
            beam_size=1,
            max_decoding_length=1,
            max_batch_size=self.settings.max_batch_tokens,
            batch_type="tokens",
            return_end_token=True,
            return_attention=True,
        )
        return [result.attention[0][0] if result.attention[0] else None for result in results]


def _return_freed_memory() -> None:
    """Hand the heap pages just freed back to the OS (glibc keeps them otherwise: a dropped
    replica of a Transformer-base model would stay in the RSS)."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def _model_config(package: ArgosPackage) -> dict[str, Any]:
    path = package.model_dir / "config.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError) as exc:
        raise PackageError(f"{package.origin}: cannot read {path}: {exc}") from exc
