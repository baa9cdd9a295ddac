"""The README's first screen stays true: `make run` serves and its examples answer."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import REPO_ROOT, ServerProcess, free_port

README = (REPO_ROOT / "README.md").read_text()
BLOCKS = re.findall(r"```bash\n(.*?)```", README, re.S)
EXPECTED = re.compile(r'"([A-ZÁÉÍÓÚÑ¿¡][^"]*\.)"')


@pytest.fixture(scope="module")
def make_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    http_port, grpc_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("make-run") / "make-run.log"
    server = ServerProcess(
        ["make", "run", f"HTTP_PORT={http_port}", f"GRPC_PORT={grpc_port}"], Path(log)
    ).start()
    try:
        server.wait_http_ok(f"http://127.0.0.1:{http_port}/v2/models/translator/ready", 180)
        yield http_port, grpc_port
    finally:
        server.stop()


def run_block(block: str, http_port: int, grpc_port: int) -> str:
    script = block.replace("localhost:8080", f"127.0.0.1:{http_port}").replace(
        "localhost:8081", f"127.0.0.1:{grpc_port}"
    )
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_first_screen_shows_both_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:20])
    assert "make run" in first_screen and "make test" in first_screen


@pytest.mark.parametrize("index", [1, 2], ids=["rest-v1-v2", "grpc"])
def test_readme_examples_answer_as_documented(make_run: tuple[int, int], index: int) -> None:
    block = BLOCKS[index]
    expected = [
        m
        for line in block.splitlines()
        if "#" in line
        for m in EXPECTED.findall(line.split("#", 1)[1])
    ]
    expected += [line.split("# ", 1)[1].strip() for line in block.splitlines() if "print(" in line]
    assert expected, "the example shows no expected output"
    output = run_block(block, *make_run)
    for translation in expected:
        assert translation in output, (translation, output)
