"""The served per-request baseline: a KServe model server whose `predict` makes one translation
call per text, as bakdata's KServe predictor does (no batching across requests).

It is generous to the baseline: calls run in a thread pool (`asyncio.to_thread`), so with
`inter_threads` = the CPUs as many translations run at once; each uses one thread
(`intra_threads` 1), the layout that is stable on a shared machine (see docs/benchmarks.md:
an OpenMP team per call was 3-20x slower per call whenever other processes held a
core).

Backends:
- `argostranslate`: `argostranslate.translate.translate(text, "en", "es")` from the full
  argostranslate (its sentence splitting, tokenizer and CTranslate2 call), package installed by
  `argostranslate.package.install_from_path`, thread settings from ARGOS_INTER_THREADS and
  ARGOS_INTRA_THREADS;
- `ctranslate2`: one `translate_batch([sentence])` per text with the servers' decoding-length
  cap, for the random-weight real-size model (argostranslate cannot cap decoding, and a random
  model never stops by itself: its outputs would not be comparable). No sentence splitter.

Runs in .venvs/dev (KServe and the full argostranslate) with the environment from
`argos_install.argos_environment`:

    python -m benchmarks.per_request JOB.json --http_port PORT
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path

from benchmarks.argos_install import install

MODEL_NAME = "translator"


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
        str(folder / "model"), device="cpu", compute_type=os.environ["ARGOS_COMPUTE_TYPE"],
        inter_threads=int(os.environ["ARGOS_INTER_THREADS"]),
        intra_threads=int(os.environ["ARGOS_INTRA_THREADS"]),
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


def serve(job: dict, http_port: int) -> None:
    from kserve import Model, ModelServer

    translate_one = BACKENDS[job["backend"]](job)

    class PerRequestTranslator(Model):
        def __init__(self) -> None:
            super().__init__(MODEL_NAME)
            self.ready = True

        async def predict(self, payload: dict, headers: dict | None = None) -> dict:
            texts = payload["instances"]
            return {
                "predictions": [await asyncio.to_thread(translate_one, t) for t in texts]
            }

    ModelServer(http_port=http_port, enable_grpc=False, workers=1).start(
        [PerRequestTranslator()]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.per_request")
    parser.add_argument("job", type=Path)
    parser.add_argument("--http_port", type=int, required=True)
    args = parser.parse_args()
    serve(json.loads(args.job.read_text()), args.http_port)


if __name__ == "__main__":
    main()
