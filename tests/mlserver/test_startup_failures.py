"""A model that cannot be served stops MLServer at startup, and the log names the culprit.

MLServer 1.7.1 logs "Some of the models failed to load during startup!" with the runtime's
exception, shuts its servers down and exits (with status 0: MLServer's own choice), so the model
never becomes ready and the pod restarts instead of serving nothing.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.mlserver.model_dirs import folder_without_model_dir, not_a_zip_model_dir
from tests.mlserver.servers import (
    SHIPPED_SETTINGS,
    RunningMLServer,
    kserve_style_env,
    launch_mlserver,
)


@dataclass
class Outcome:
    exited: bool
    exit_code: int | None
    log: str
    ever_ready: bool
    culprit: str = ""


def adaptive_batching_settings(root: Path) -> Path:
    """The shipped settings folder, edited to switch MLServer's adaptive batching on."""
    folder = root / "adaptive-settings"
    shutil.copytree(SHIPPED_SETTINGS, folder)
    model_settings = json.loads((folder / "model-settings.json").read_text())
    model_settings.update(max_batch_size=8, max_batch_time=0.05)
    (folder / "model-settings.json").write_text(json.dumps(model_settings))
    return folder


def ever_ready(running: RunningMLServer) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        url = f"{running.base_url}/v2/models/{running.model_name}/ready"
        return httpx.get(url, timeout=1.0).status_code == 200
    return False


def watch_until_exit(servers: dict[str, RunningMLServer], timeout: float) -> dict[str, Outcome]:
    """Poll every server's model readiness until all have exited (or the time is up)."""
    ready = dict.fromkeys(servers, False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(s.server.alive() for s in servers.values()):
        for name, running in servers.items():
            if running.server.alive() and ever_ready(running):
                ready[name] = True
        time.sleep(0.25)
    outcomes = {}
    for name, running in servers.items():
        exited = not running.server.alive()
        exit_code = running.stop()
        outcomes[name] = Outcome(exited, exit_code, running.server.log(), ready[name])
    return outcomes


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Outcome]:
    """Start every broken server at once (each should exit by itself), then see what happened."""
    root = tmp_path_factory.mktemp("mlserver-broken")
    not_a_zip, zip_file = not_a_zip_model_dir(root)
    no_model, package_folder = folder_without_model_dir(root)
    missing = root / "does-not-exist"
    cases: dict[str, tuple[Callable[[], RunningMLServer], str]] = {
        "not a zip": (
            lambda: launch_mlserver(root / "run-not-a-zip", model_uri=not_a_zip),
            f"{zip_file}: not a valid .argosmodel (must be a zip archive)",
        ),
        # Started KServe-style: `mlserver start <model dir>`, the model described by env.
        "package folder without a model": (
            lambda: launch_mlserver(
                root / "run-no-model", no_model, model_uri=no_model, env=kserve_style_env()
            ),
            f"{package_folder}: missing CTranslate2 model (model/model.bin)",
        ),
        "missing model directory": (
            lambda: launch_mlserver(root / "run-missing", model_uri=missing),
            f"Invalid URI specified for model translator ({missing})",
        ),
        "misspelt engine setting": (
            lambda: launch_mlserver(root / "run-extra", extra={"beam_sise": 4}),
            "model translator: invalid parameters.extra {'beam_sise': 4}: "
            "unknown engine settings: beam_sise",
        ),
        "adaptive batching switched on": (
            lambda: launch_mlserver(root / "run-adaptive", adaptive_batching_settings(root)),
            "MLServer adaptive batching is not supported (max_batch_size=8, max_batch_time=0.05)",
        ),
    }
    servers: dict[str, RunningMLServer] = {}
    try:
        for name, (launch, _) in cases.items():
            servers[name] = launch()
        outcomes = watch_until_exit(servers, timeout=180.0)
    finally:
        for running in servers.values():
            running.stop()
    for name, (_, culprit) in cases.items():
        outcomes[name].culprit = culprit
    return outcomes


CASES = [
    "not a zip",
    "package folder without a model",
    "missing model directory",
    "misspelt engine setting",
    "adaptive batching switched on",
]


@pytest.mark.parametrize("case", CASES)
def test_broken_model_stops_the_server_and_the_log_names_it(
    outcomes: dict[str, Outcome], case: str
) -> None:
    outcome = outcomes[case]
    assert outcome.exited, f"mlserver kept running:\n{outcome.log[-3000:]}"
    assert not outcome.ever_ready, "a model that cannot load must never report ready"
    assert "Some of the models failed to load during startup!" in outcome.log
    assert outcome.culprit in outcome.log, outcome.log[-3000:]
