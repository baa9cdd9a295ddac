"""Start each image's real entrypoint from its own environment and measure it as a user would:
process start -> ready (polled every 25 ms), the first request's latency, and peak RSS
(VmHWM of the process and its children) after the load.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from benchmarks.settings import REPO_ROOT
from benchmarks.targets import MODEL_NAME, Endpoint
from harness.metrics import metric_value
from harness.processes import ServerProcess, free_port, venv_python

log = logging.getLogger("benchmarks.servers")

READY_POLL_S = 0.025
MLSERVER_SETTINGS = REPO_ROOT / "predictors" / "argos_mlserver" / "settings"


@dataclass
class Launched:
    name: str
    server: ServerProcess
    endpoint: Endpoint
    ready_s: float = 0.0
    first_request_ms: float | None = None
    scratch: list[Path] = field(default_factory=list)
    metrics_url: str | None = None  # where the core's batch metrics are (predictors only)

    def batch_totals(self) -> tuple[float, float] | None:
        """(sentences, batches) translated so far, from the core's batch-size histogram."""
        if self.metrics_url is None:
            return None
        try:
            text = httpx.get(self.metrics_url, timeout=10).text
        except httpx.HTTPError:
            return None
        return (
            metric_value(text, "argos_batch_size_sentences_sum"),
            metric_value(text, "argos_batch_size_sentences_count"),
        )

    def peak_rss_mb(self) -> float | None:
        """Peak resident memory of the server and its children so far (VmHWM), in MiB."""
        if not self.server.alive():
            return None
        try:
            root = psutil.Process(self.server.process.pid)
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            return None
        return round(sum(_vm_hwm_kib(p.pid) for p in processes) / 1024, 1)

    def cpu_seconds(self) -> float | None:
        """User + system CPU time of the server and its children so far."""
        try:
            root = psutil.Process(self.server.process.pid)
            processes = [root, *root.children(recursive=True)]
            return sum(sum(p.cpu_times()[:2]) for p in processes)
        except psutil.Error:
            return None

    def cold_start(self) -> dict:
        return {
            "ready_s": round(self.ready_s, 3),
            "first_request_ms": None
            if self.first_request_ms is None
            else round(self.first_request_ms, 1),
        }

    def stop(self) -> None:
        self.server.stop()
        for path in self.scratch:
            shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def stopping(launched: Launched) -> Iterator[Launched]:
    try:
        yield launched
    finally:
        launched.stop()


def _vm_hwm_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def launch(
    name: str,
    command: Sequence[str],
    endpoint: Endpoint,
    ready_path: str,
    log_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path = REPO_ROOT,
    timeout_s: float = 180.0,
    first_request: Callable[[Endpoint], None] | None = None,
) -> Launched:
    """Start the server, poll `ready_path` until 200, then time one request."""
    server = ServerProcess(
        list(command), log_dir / f"{name}-{endpoint.base_url.rsplit(':', 1)[1]}.log",
        env=dict(env or {}), cwd=cwd,
    )
    started = time.perf_counter()
    server.start()
    launched = Launched(name, server, endpoint)
    try:
        _wait_ready(server, endpoint.base_url + ready_path, timeout_s)
        launched.ready_s = time.perf_counter() - started
        if first_request is not None:
            sent = time.perf_counter()
            first_request(endpoint)
            launched.first_request_ms = (time.perf_counter() - sent) * 1000
    except BaseException:
        server.stop()
        raise
    log.info(
        "event=server_ready name=%s ready_s=%.3f first_request_ms=%s",
        name, launched.ready_s, launched.first_request_ms,
    )
    return launched


def _wait_ready(server: ServerProcess, url: str, timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while time.perf_counter() < deadline:
            if not server.alive():
                raise RuntimeError(f"{server.command[0]} exited early:\n{server.log()[-3000:]}")
            try:
                if client.get(url).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(READY_POLL_S)
    command = " ".join(server.command)
    raise TimeoutError(f"{command} not ready in {timeout_s}s:\n{server.log()[-3000:]}")


# --- first requests (synchronous, one sentence) ---------------------------------------------

FIRST_TEXT = "The small dog sleeps."


def first_v1(endpoint: Endpoint) -> None:
    response = httpx.post(
        f"{endpoint.base_url}/v1/models/{MODEL_NAME}:predict",
        json={"instances": [FIRST_TEXT]}, timeout=120,
    )
    response.raise_for_status()


def first_v2(endpoint: Endpoint) -> None:
    body = {
        "id": "first",
        "inputs": [{"name": "text", "datatype": "BYTES", "shape": [1], "data": [FIRST_TEXT]}],
    }
    response = httpx.post(
        f"{endpoint.base_url}/v2/models/{MODEL_NAME}/infer", json=body, timeout=120
    )
    response.raise_for_status()


def first_libretranslate(endpoint: Endpoint) -> None:
    body = {"q": FIRST_TEXT, "source": "en", "target": "es", "format": "text"}
    httpx.post(f"{endpoint.base_url}/translate", json=body, timeout=120).raise_for_status()


# --- the entrypoints ----------------------------------------------------------------------


def scratch_env(work_dir: Path, name: str) -> tuple[dict[str, str], Path]:
    """Fresh XDG and package-extraction folders, so every start is a cold start."""
    base = work_dir / f"scratch-{name}-{time.monotonic_ns()}"
    env = {
        "XDG_DATA_HOME": str(base / "data"),
        "XDG_CONFIG_HOME": str(base / "config"),
        "XDG_CACHE_HOME": str(base / "cache"),
        "ARGOS_EXTRACT_DIR": str(base / "extract"),
    }
    return env, base


def engine_flags(engine: Mapping[str, object]) -> list[str]:
    flags: list[str] = []
    for key, value in engine.items():
        flags += [f"--{key}", str(value)]
    return flags


def start_kserve(
    work_dir: Path, log_dir: Path, model_dir: Path | None, engine: Mapping[str, object]
) -> Launched:
    http_port, grpc_port = free_port(), free_port()
    env, scratch = scratch_env(work_dir, "kserve")
    command = [
        str(venv_python("kserve")), "-m", "argos_kserve",
        "--model_name", MODEL_NAME,
        "--http_port", str(http_port), "--grpc_port", str(grpc_port),
        *(["--model_dir", str(model_dir)] if model_dir else []),
        *engine_flags(engine),
    ]
    endpoint = Endpoint(f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}")
    launched = launch(
        "kserve-predictor", command, endpoint, f"/v2/models/{MODEL_NAME}/ready", log_dir,
        env=env, first_request=first_v1,
    )
    launched.scratch.append(scratch)
    launched.metrics_url = f"{endpoint.base_url}/metrics"
    return launched


def mlserver_environment(
    work_dir: Path,
    http_port: int,
    grpc_port: int,
    model_dir: Path | None,
    engine: Mapping[str, object],
    kafka: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], Path]:
    env, scratch = scratch_env(work_dir, "mlserver")
    env.update(
        {
            "MLSERVER_HOST": "127.0.0.1",
            "MLSERVER_HTTP_PORT": str(http_port),
            "MLSERVER_GRPC_PORT": str(grpc_port),
            "MLSERVER_METRICS_PORT": str(free_port()),
            "MLSERVER_METRICS_DIR": str(scratch / "metrics"),
            "MLSERVER_ENVIRONMENTS_DIR": str(scratch / "envs"),
            "MLSERVER_PARALLEL_WORKERS": "0",
        }
    )
    if model_dir is not None:
        env["MLSERVER_MODEL_URI"] = str(model_dir)
    if engine:
        env["MLSERVER_MODEL_EXTRA"] = json.dumps(dict(engine))
    env.update(kafka or {})
    return env, scratch


def start_mlserver(
    work_dir: Path,
    log_dir: Path,
    model_dir: Path | None,
    engine: Mapping[str, object],
    kafka: Mapping[str, str] | None = None,
) -> Launched:
    http_port, grpc_port = free_port(), free_port()
    env, scratch = mlserver_environment(work_dir, http_port, grpc_port, model_dir, engine, kafka)
    scratch.mkdir(parents=True, exist_ok=True)
    command = [str(venv_python("mlserver").parent / "mlserver"), "start", str(MLSERVER_SETTINGS)]
    endpoint = Endpoint(f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}")
    launched = launch(
        "mlserver", command, endpoint, f"/v2/models/{MODEL_NAME}/ready", log_dir,
        env=env, cwd=scratch, first_request=first_v2,
    )
    launched.scratch.append(scratch)
    launched.metrics_url = f"http://127.0.0.1:{env['MLSERVER_METRICS_PORT']}/metrics"
    return launched


def start_transformer(
    log_dir: Path,
    predictor: Endpoint,
    protocol: str = "v1",
    kafka_flags: Sequence[str] = (),
) -> Launched:
    http_port, grpc_port = free_port(), free_port()
    host = predictor.grpc_target if protocol == "grpc-v2" else predictor.base_url.split("//", 1)[1]
    command = [
        str(venv_python("transformer")), "-m", "argos_transformer",
        "--model_name", MODEL_NAME,
        "--predictor_host", str(host), "--predictor_protocol", protocol,
        "--http_port", str(http_port), "--grpc_port", str(grpc_port),
        *kafka_flags,
    ]
    endpoint = Endpoint(f"http://127.0.0.1:{http_port}", f"127.0.0.1:{grpc_port}")
    return launch(
        "transformer", command, endpoint, f"/v2/models/{MODEL_NAME}/ready", log_dir,
        first_request=first_v1,
    )


def start_libretranslate(log_dir: Path, argos_env: Mapping[str, str]) -> Launched:
    port = free_port()
    command = [
        str(venv_python("libretranslate").parent / "libretranslate"),
        "--host", "127.0.0.1", "--port", str(port),
        "--load-only", "en,es", "--disable-web-ui", "--disable-files-translation",
    ]
    endpoint = Endpoint(f"http://127.0.0.1:{port}")
    return launch(
        "libretranslate", command, endpoint, "/languages", log_dir,
        env=argos_env, first_request=first_libretranslate,
    )


def start_per_request(log_dir: Path, job_file: Path, argos_env: Mapping[str, str]) -> Launched:
    """The served per-request baseline (benchmarks/per_request.py) in .venvs/dev."""
    port = free_port()
    command = [
        str(venv_python("dev")), "-m", "benchmarks.per_request", str(job_file),
        "--http_port", str(port),
    ]
    endpoint = Endpoint(f"http://127.0.0.1:{port}")
    return launch(
        "per-request", command, endpoint, f"/v2/models/{MODEL_NAME}/ready", log_dir,
        env=argos_env, first_request=first_v1,
    )


def package_versions(venv: str, names: Sequence[str]) -> dict[str, str | None]:
    """Installed versions of `names` in one environment (None: not installed)."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "def v(n):\n"
        "    try:\n"
        "        return m.version(n)\n"
        "    except m.PackageNotFoundError:\n"
        "        return None\n"
        "print(json.dumps({n: v(n) for n in sys.argv[1:]}))\n"
    )
    completed = subprocess.run(
        [str(venv_python(venv)), "-c", script, *names],
        capture_output=True, text=True, timeout=60, check=True,
    )
    return json.loads(completed.stdout)
