"""The per-request baseline: one translation call per text, as bakdata's KServe predictor and
LibreTranslate do, with `concurrency` threads calling at once.

Backends:
- `argostranslate`: `argostranslate.translate.translate(text, "en", "es")` from the full
  argostranslate (its sentence splitting, tokenizer and CTranslate2 call), package installed by
  `argostranslate.package.install_from_path`;
- `ctranslate2`: one `translate_batch([sentence])` per text with the servers' decoding-length
  cap, for the random-weight real-size model (argostranslate cannot cap decoding, and a random
  model never stops by itself: its outputs would not be comparable).

Runs in .venvs/dev with the environment from `argos_install.argos_environment`:

    python -m benchmarks.per_request JOB.json   -> one JSON line on stdout
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from benchmarks.argos_install import install
from benchmarks.loadgen import LoadResult


def argostranslate_backend(job: dict) -> Callable[[str], str]:
    install(Path(job["package"]))
    from argostranslate import translate

    return lambda text: translate.translate(text, "en", "es")


def ctranslate2_backend(job: dict) -> Callable[[str], str]:
    folder = install(Path(job["package"]))
    import ctranslate2
    import sentencepiece as spm

    processor = spm.SentencePieceProcessor(model_file=str(folder / "sentencepiece.model"))
    translator = ctranslate2.Translator(
        str(folder / "model"), device="cpu", compute_type="default",
        inter_threads=1, intra_threads=0,
    )

    def translate_one(text: str) -> str:
        tokens = processor.encode([text], out_type=str)
        result = translator.translate_batch(
            tokens,
            beam_size=job["beam_size"],
            max_decoding_length=job["max_decoding_length"],
            replace_unknowns=True,
        )
        return processor.decode_pieces(result[0].hypotheses[0])

    return translate_one


BACKENDS = {"argostranslate": argostranslate_backend, "ctranslate2": ctranslate2_backend}


def run_level(
    translate_one: Callable[[str], str],
    sentences: list[str],
    concurrency: int,
    requests: int,
    time_cap_s: float,
) -> LoadResult:
    result = LoadResult("per-request", concurrency, requests)
    lock = threading.Lock()
    deadline = time.perf_counter() + time_cap_s

    def one(index: int) -> None:
        if time.perf_counter() >= deadline:
            result.capped = True
            return
        sent = time.perf_counter()
        try:
            output = translate_one(sentences[index % len(sentences)])
        except Exception as exc:
            with lock:
                result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        with lock:
            result.latencies_s.append(time.perf_counter() - sent)
            result.sentences += 1
            result.outputs[index] = output

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, range(requests)))
    result.seconds = time.perf_counter() - started
    return result


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text())
    loaded = time.perf_counter()
    translate_one = BACKENDS[job["backend"]](job)
    sentences = job["sentences"]
    for index in range(job["warmup"]):
        translate_one(sentences[index % len(sentences)])
    setup_s = time.perf_counter() - loaded
    levels = {}
    for concurrency, requests in job["levels"].items():
        result = run_level(
            translate_one, sentences, int(concurrency), int(requests), job["time_cap_s"]
        )
        levels[concurrency] = {**result.summary(), "outputs": result.outputs}
    print(json.dumps({"backend": job["backend"], "setup_s": round(setup_s, 2), "levels": levels}))


if __name__ == "__main__":
    main()
