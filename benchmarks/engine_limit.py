"""The engine limit: `ctranslate2.Translator.translate_batch` in-process on the workload's
sentences, for several batch sizes and thread layouts (the server's, one batch per core, one
batch using every core); the best combination counts.

Runs in the KServe image environment (the engine the servers use), as a subprocess:

    python -m benchmarks.engine_limit JOB.json   -> one JSON line on stdout

JOB: {"model_dir", "sentences", "batch_sizes", "thread_layouts" ([[inter, intra], ...]),
      "beam_size", "max_decoding_length", "compute_type", "max_batch_tokens", "min_seconds",
      "latency_sentences", "latency_layouts" ([[inter, intra], ...])}
Tokenisation is done once up front: the limit is the engine's own speed, nothing else.

With `latency_sentences` N > 0 it also measures the engine's best single-sentence latency:
one `translate_batch` of one sentence at a time, for each of the first N sentences (the ones a
served run at concurrency 1 sends), per `latency_layouts` layout; the best layout's median
counts. This is the floor a lone request could be served in.

`--serve JOB.json` keeps the engine loaded and measures on command (a sentence alone, or a rate
for a few seconds), so the bench can pair engine measurements with served runs.
"""

from __future__ import annotations

import contextlib
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


@contextlib.contextmanager
def _prepared(job: dict) -> Iterator[tuple[Path, list[list[str]], dict]]:
    """The job's package extracted, its sentences tokenised up front, the servers' decoding
    options: (CTranslate2 model directory, tokens, translate_batch options)."""
    import sentencepiece as spm

    from argos_core.packages import discover_packages

    with tempfile.TemporaryDirectory() as extract:
        package = discover_packages(Path(job["model_dir"]), Path(extract))[0]
        processor = spm.SentencePieceProcessor(model_file=str(package.sentencepiece_model))
        yield package.model_dir, processor.encode(job["sentences"], out_type=str), {
            "beam_size": job["beam_size"],
            "max_decoding_length": job["max_decoding_length"],
            "max_batch_size": job["max_batch_tokens"],
            "batch_type": "tokens",
            "replace_unknowns": True,
        }


def measure(job: dict) -> dict:
    with _prepared(job) as (model_dir, tokens, options):
        by_layout: dict[str, dict[str, float]] = {}
        for inter_threads, intra_threads in job["thread_layouts"]:
            translator = ctranslate2_translator(
                model_dir, job["compute_type"], inter_threads, intra_threads
            )
            first = translator.translate_batch(tokens[: min(8, len(tokens))], **options)  # warm-up
            output_tokens = [len(result.hypotheses[0]) for result in first]
            by_layout[f"{inter_threads}x{intra_threads}"] = {
                str(batch_size): round(
                    _rate(translator, tokens, batch_size, options, job["min_seconds"],
                          inter_threads), 2
                )
                for batch_size in job["batch_sizes"]
            }
            compute_type = translator.compute_type
            del translator
        latency = (
            _single_sentence(model_dir, tokens[: job["latency_sentences"]], options,
                             job["compute_type"], job["latency_layouts"])
            if job.get("latency_sentences") else None
        )
    sizes = [str(size) for size in job["batch_sizes"]]
    sweep = {size: max(rates[size] for rates in by_layout.values()) for size in sizes}
    best_layout, best_size = max(
        ((layout, size) for layout, rates in by_layout.items() for size in rates),
        key=lambda pair: by_layout[pair[0]][pair[1]],
    )
    inter_threads, intra_threads = map(int, best_layout.split("x"))
    return {
        "sentences_per_s": by_layout[best_layout][best_size],
        "best_batch_size": int(best_size),
        "best_threads": {"inter_threads": inter_threads, "intra_threads": intra_threads},
        "sweep": sweep,
        "sweep_by_threads": by_layout,
        "compute_type": compute_type,
        "source_tokens_mean": round(sum(map(len, tokens)) / len(tokens), 1),
        "output_tokens_mean": round(sum(output_tokens) / len(output_tokens), 1),
        "single_sentence": latency,
    }


def _single_sentence(
    model_dir: Path, tokens: list, options: dict, compute_type: str, layouts: list
) -> dict:
    """Median ms of one one-sentence `translate_batch` per layout, and the best layout."""
    by_layout: dict[str, float] = {}
    for inter_threads, intra_threads in layouts:
        translator = ctranslate2_translator(model_dir, compute_type, inter_threads,
                                            intra_threads)
        translator.translate_batch(tokens[:1], **options)  # warm-up
        times = []
        for sentence in tokens:
            started = time.perf_counter()
            translator.translate_batch([sentence], **options)
            times.append(time.perf_counter() - started)
        times.sort()
        by_layout[f"{inter_threads}x{intra_threads}"] = round(
            statistics.median(times) * 1000, 2
        )
        del translator
    best = min(by_layout, key=by_layout.__getitem__)
    return {"p50_ms": by_layout[best], "best_threads": best, "p50_ms_by_threads": by_layout,
            "sentences": len(tokens)}


def ctranslate2_translator(model_dir: Path, compute_type: str, inter: int, intra: int):
    import ctranslate2

    return ctranslate2.Translator(
        str(model_dir), device="cpu", compute_type=compute_type,
        inter_threads=inter, intra_threads=intra,
    )


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


def serve(job: dict) -> None:
    """`--serve JOB.json`: the engine kept loaded for measurements paired with served runs
    (`phases.EngineProcess`). Prints "ready", then answers one JSON line per command line:

    - `{"single": i, "layout": [inter, intra]}`: sentence i translated alone -> `{"ms": ...}`
    - `{"rate": [inter, intra, batch], "seconds": s}`: the `_rate` measurement ->
      `{"sentences_per_s": ...}`
    """
    with _prepared(job) as (model_dir, tokens, options):
        translators: dict[tuple[int, int], object] = {}

        def translator(inter: int, intra: int):
            if (inter, intra) not in translators:
                loaded = ctranslate2_translator(model_dir, job["compute_type"], inter,
                                                intra)
                loaded.translate_batch(tokens[:1], **options)  # warm-up
                translators[(inter, intra)] = loaded
            return translators[(inter, intra)]

        for inter, intra in job.get("preload", []):
            translator(inter, intra)
        print("ready", flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            if "single" in command:
                engine = translator(*command["layout"])
                sentence = tokens[command["single"]]
                started = time.perf_counter()
                engine.translate_batch([sentence], **options)
                answer = {"ms": (time.perf_counter() - started) * 1000}
            else:
                inter, intra, batch = command["rate"]
                answer = {"sentences_per_s": _rate(translator(inter, intra), tokens, batch,
                                                   options, command["seconds"], inter)}
            print(json.dumps(answer), flush=True)


def main() -> None:
    if sys.argv[1] == "--serve":
        serve(json.loads(Path(sys.argv[2]).read_text()))
        return
    job = json.loads(Path(sys.argv[1]).read_text())
    print(json.dumps(measure(job)))


if __name__ == "__main__":
    main()
