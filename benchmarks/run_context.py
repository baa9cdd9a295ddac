"""What every phase of a run shares: the settings, the results gathered so far, and helpers
to reach the models, the engine settings and the measuring subprocesses.

`Run.phase(model, name)` collects one phase's results; an exception inside becomes
{"error": ...} with its reason, and the run goes on.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import time
import traceback
from pathlib import Path

from argos_core.cpus import available_cpus
from argos_core.settings import EngineSettings
from benchmarks.argos_size_model import ensure_model
from benchmarks.settings import REPO_ROOT, BenchSettings
from benchmarks.workload import Workload, workload_for
from harness.processes import venv_python

log = logging.getLogger("benchmarks.run")

EMBEDDED_DIR = REPO_ROOT / "predictors" / "argos_core" / "embedded"
SUBPROCESS_TIMEOUT_S = 900


class Phase:
    """Collects one phase's results; an exception becomes {"error": ...} and a reason."""

    def __init__(self, run: Run, model: str, name: str) -> None:
        self.run, self.model, self.name = run, model, name

    def __enter__(self) -> dict:
        log.info("event=phase_start model=%s phase=%s", self.model, self.name)
        self.started = time.monotonic()
        self.data: dict = self.run.models.setdefault(self.model, {}).setdefault(self.name, {})
        return self.data

    def __exit__(self, kind, error, tb) -> bool:
        seconds = round(time.monotonic() - self.started, 1)
        self.run.timings[f"{self.model}/{self.name}"] = seconds
        if error is None:
            log.info(
                "event=phase_done model=%s phase=%s seconds=%s", self.model, self.name, seconds
            )
            return False
        if isinstance(error, KeyboardInterrupt):
            return False
        reason = f"{type(error).__name__}: {error}".strip()[:1500]
        self.data["error"] = reason
        self.run.errors[f"{self.model}/{self.name}"] = reason
        log.error(
            "event=phase_failed model=%s phase=%s error=%s\n%s",
            self.model, self.name, reason.splitlines()[0],
            "".join(traceback.format_exception(kind, error, tb))[-3000:],
        )
        return True


class Run:
    def __init__(self, settings: BenchSettings) -> None:
        self.settings = settings
        self.models: dict[str, dict] = {}
        self.errors: dict[str, str] = {}
        self.timings: dict[str, float] = {}

    def phase(self, model: str, name: str) -> Phase:
        return Phase(self, model, name)

    # --- helpers ----------------------------------------------------------------------------

    def model_dir(self, model: str) -> Path | None:
        """None = the predictor's embedded default (the demo model)."""
        if model == "demo":
            if not any(EMBEDDED_DIR.glob("*.argosmodel")):
                raise FileNotFoundError(f"no embedded demo model in {EMBEDDED_DIR}")
            return None
        return ensure_model(self.settings.out_dir)

    def package_file(self, model: str) -> Path:
        folder = EMBEDDED_DIR if model == "demo" else ensure_model(self.settings.out_dir)
        return sorted(folder.glob("*.argosmodel"))[-1]

    def engine_settings(self, model: str) -> dict[str, object]:
        engine: dict[str, object] = {"beam_size": self.settings.beam_size}
        if model == "argos_size":
            engine["max_decoding_length"] = self.settings.argos_size_max_decoding_length
        engine.update(self.settings.engine_overrides)
        return engine

    def thread_layouts(self, model: str) -> list[tuple[int, int]]:
        """(inter_threads, intra_threads) for the engine limit: the servers' own (their
        defaults resolved on this machine, or the `--engine` overrides), one batch per CPU, and
        one batch using every CPU."""
        known = {f.name for f in dataclasses.fields(EngineSettings)}
        engine = {k: v for k, v in self.engine_settings(model).items() if k in known}
        served = EngineSettings.from_mapping(engine).resolved(cuda_devices=0)
        cpus = available_cpus()
        layouts = [(served.inter_threads, served.intra_threads), (cpus, 1), (1, cpus)]
        return list(dict.fromkeys(layouts))

    def max_decoding_length(self, model: str) -> int:
        return int(self.engine_settings(model).get("max_decoding_length", 256))

    def workload(self, model: str) -> Workload:
        load = self.settings.load[model]
        count = max(
            max(load.requests.values()),
            max(load.per_request_requests.values()),
            load.engine_sentences,
            self.settings.kafka_messages,
        )
        return workload_for(model, count)

    def subprocess_json(
        self, venv: str, module: str, job: dict, env: dict[str, str] | None = None
    ) -> dict:
        job_file = self.settings.work_dir / f"{module.rsplit('.', 1)[1]}-{time.monotonic_ns()}.json"
        job_file.parent.mkdir(parents=True, exist_ok=True)
        job_file.write_text(json.dumps(job))
        completed = subprocess.run(
            [str(venv_python(venv)), "-m", module, str(job_file)],
            cwd=REPO_ROOT, env={**os.environ, **(env or {})},
            capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S,
        )
        job_file.unlink(missing_ok=True)
        lines = completed.stdout.strip().splitlines()
        if completed.returncode != 0 or not lines:
            raise RuntimeError(
                f"{module} exited {completed.returncode}: {completed.stderr.strip()[-1500:]}"
            )
        return json.loads(lines[-1])
