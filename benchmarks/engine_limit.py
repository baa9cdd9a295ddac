"""The engine limit: `ctranslate2.Translator.translate_batch` in-process on the workload's
sentences, with the server's engine settings, for several batch sizes; the best one counts.

Runs in the KServe image environment (the engine the servers use), as a subprocess:

    python -m benchmarks.engine_limit JOB.json   -> one JSON line on stdout

JOB: {"model_dir", "sentences", "batch_sizes", "beam_size", "max_decoding_length",
      "compute_type", "intra_threads", "inter_threads", "max_batch_tokens", "min_seconds"}
Tokenisation is done once up front: the limit is the engine's own speed, nothing else.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def measure(job: dict) -> dict:
    import ctranslate2
    import sentencepiece as spm

    from argos_core.packages import discover_packages

    with tempfile.TemporaryDirectory() as extract:
        package = discover_packages(Path(job["model_dir"]), Path(extract))[0]
        processor = spm.SentencePieceProcessor(model_file=str(package.sentencepiece_model))
        tokens = processor.encode(job["sentences"], out_type=str)
        translator = ctranslate2.Translator(
            str(package.model_dir),
            device="cpu",
            compute_type=job["compute_type"],
            inter_threads=job["inter_threads"],
            intra_threads=job["intra_threads"],
        )
        options = {
            "beam_size": job["beam_size"],
            "max_decoding_length": job["max_decoding_length"],
            "max_batch_size": job["max_batch_tokens"],
            "batch_type": "tokens",
            "replace_unknowns": True,
        }
        first = translator.translate_batch(tokens[: min(8, len(tokens))], **options)  # warm-up
        output_tokens = [len(result.hypotheses[0]) for result in first]
        sweep = {}
        for batch_size in job["batch_sizes"]:
            sweep[str(batch_size)] = round(
                _rate(translator, tokens, batch_size, options, job["min_seconds"],
                      job["inter_threads"]), 2
            )
    best = max(sweep, key=sweep.__getitem__)
    return {
        "sentences_per_s": sweep[best],
        "best_batch_size": int(best),
        "sweep": sweep,
        "compute_type": translator.compute_type,
        "source_tokens_mean": round(sum(map(len, tokens)) / len(tokens), 1),
        "output_tokens_mean": round(sum(output_tokens) / len(output_tokens), 1),
    }


def _rate(
    translator, tokens: list, batch_size: int, options: dict, min_seconds: float, workers: int
) -> float:
    """Sentences/s translating the whole list in batches of `batch_size`, repeated until
    `min_seconds` have passed (at least once). With inter_threads > 1, that many batches are
    in flight at once (from as many threads), as the server's batcher runs them."""
    batches = [tokens[i : i + batch_size] for i in range(0, len(tokens), batch_size)]
    done = 0
    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        while True:
            for results in pool.map(lambda b: translator.translate_batch(b, **options), batches):
                done += len(results)
            elapsed = time.perf_counter() - started
            if elapsed >= min_seconds:
                return done / elapsed


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(measure(job)))


if __name__ == "__main__":
    main()
