"""Security: body-size limit (413), model directories that escape their folder refused at start,
no plaintext secrets in manifests/, every container non-root with a read-only root filesystem.

Covered elsewhere (not repeated): text length/count limits (tests/kserve/test_bad_input.py and
the corpus here), zip slip and symlinks in the loader (tests/core/test_packages.py), the
Dockerfiles' numeric non-root USER (tests/manifests/test_dockerfiles.py).
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from argos_core.settings import DEFAULT_MODEL_DIR
from tests.support.predictor import RunningPredictor
from tests.support.processes import REPO_ROOT, ServerProcess, free_port, python_command

DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024
V1 = "/v1/models/translator:predict"


def test_an_oversized_body_is_a_413_before_it_is_read(predictor: RunningPredictor) -> None:
    body = b'{"instances": ["' + b"a" * DEFAULT_MAX_BODY_BYTES + b'"]}'
    response = httpx.post(
        predictor.base_url + V1, content=body, headers={"content-type": "application/json"},
        timeout=60,
    )
    assert response.status_code == 413, response.text[:300]
    assert "request body too large" in response.json()["error"]
    assert f"limit {DEFAULT_MAX_BODY_BYTES} bytes" in response.json()["error"]


def test_an_oversized_chunked_body_is_a_413(predictor: RunningPredictor) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"instances": ["'
        for _ in range(17):
            yield b"a" * 1024 * 1024
        yield b'"]}'

    response = httpx.post(
        predictor.base_url + "/v2/models/translator/infer", content=chunks(),
        headers={"content-type": "application/json"}, timeout=60,
    )
    assert response.status_code == 413, response.text[:300]
    assert "request body too large" in response.json()["error"]
    after = httpx.post(predictor.base_url + V1, json={"instances": ["My city is big."]})
    assert after.json() == {"predictions": ["Mi ciudad es grande."]}


def embedded_package() -> Path:
    (package,) = [p for p in DEFAULT_MODEL_DIR.iterdir() if p.name.endswith(".argosmodel")]
    return package


def zip_slip_dir(root: Path) -> Path:
    models = root / "zip-slip"
    models.mkdir()
    with zipfile.ZipFile(models / "evil.argosmodel", "w") as archive:
        archive.writestr("pkg/metadata.json", "{}")
        archive.writestr("pkg/../../escaped.txt", "x")
    return models


def zip_symlink_dir(root: Path) -> Path:
    models = root / "zip-symlink"
    models.mkdir()
    with zipfile.ZipFile(models / "linked.argosmodel", "w") as archive:
        archive.writestr("pkg/metadata.json", "{}")
        info = zipfile.ZipInfo("pkg/model")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc")
    return models


def symlink_out_dir(root: Path) -> Path:
    models = root / "symlink-out"
    models.mkdir()
    outside = root / "outside"
    with zipfile.ZipFile(embedded_package()) as archive:
        archive.extractall(outside)
    (package,) = [p for p in outside.iterdir() if (p / "metadata.json").exists()]
    os.symlink(package, models / "innocent-looking")
    return models


@pytest.mark.parametrize(
    ("make_dir", "names"),
    [
        (zip_slip_dir, ("evil.argosmodel", "escapes the archive folder")),
        (zip_symlink_dir, ("linked.argosmodel", "is a symlink")),
        (symlink_out_dir, ("innocent-looking", "symlink points outside the model directory")),
    ],
    ids=["zip-slip", "symlink-in-archive", "symlink-out-of-model-dir"],
)
def test_the_server_refuses_to_start_on_an_escaping_model_dir(
    tmp_path: Path, make_dir, names: tuple[str, str]
) -> None:
    models = make_dir(tmp_path)
    server = ServerProcess(
        python_command(
            "kserve", "-m", "argos_kserve", "--model_dir", str(models),
            "--http_port", str(free_port()), "--grpc_port", str(free_port()),
        ),
        tmp_path / "server.log",
        env={"ARGOS_EXTRACT_DIR": str(tmp_path / "extract")},
    ).start()
    try:
        code = server.process.wait(90)
    finally:
        server.stop()
    log = server.log()
    assert code != 0, log[-2000:]
    for name in names:
        assert name in log, log[-2000:]
    assert not (tmp_path / "escaped.txt").exists()
    assert not list(tmp_path.rglob("escaped.txt"))


# --- manifests -------------------------------------------------------------------------------

MANIFESTS = REPO_ROOT / "manifests"
SENSITIVE_NAME = re.compile(r"pass(word)?|secret|token|api[_-]?key|credential|private", re.I)
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
}
# The one committed Secret holds placeholders a deployer must replace (its header says so).
PLACEHOLDER = re.compile(r"change-me|replace", re.I)
NOT_SECRET_KEYS = {"protocol", "sasl.mechanism", "user"}


def manifest_documents() -> Iterator[tuple[Path, dict]]:
    for path in sorted(MANIFESTS.rglob("*.y*ml")):
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict):
                yield path, document


def walk(value: object, trail: tuple = ()) -> Iterator[tuple[tuple, object]]:
    yield trail, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from walk(child, (*trail, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(child, (*trail, index))


def test_manifests_hold_no_plaintext_secrets() -> None:
    problems = []
    documents = list(manifest_documents())
    assert len(documents) > 10
    for path, document in documents:
        where = path.relative_to(REPO_ROOT)
        for trail, value in walk(document):
            if isinstance(value, str):
                for label, pattern in SECRET_PATTERNS.items():
                    if pattern.search(value):
                        problems.append(f"{where}: {label} at {trail}")
            # An env var with a sensitive name takes its value from a Secret, never literally.
            literal = isinstance(value, dict) and bool(value.get("value"))
            if literal and SENSITIVE_NAME.search(str(value.get("name", ""))):
                problems.append(f"{where}: env {value['name']} has a literal value")
        if document.get("kind") == "Secret":
            values = {**document.get("stringData", {}), **document.get("data", {})}
            for key, value in values.items():
                if key not in NOT_SECRET_KEYS and not PLACEHOLDER.search(str(value)):
                    problems.append(f"{where}: Secret key {key!r} holds a real-looking value")
    assert problems == []


def test_kafka_credentials_come_from_a_secret_reference() -> None:
    references = 0
    for path, document in manifest_documents():
        for trail, value in walk(document):
            if not isinstance(value, dict):
                continue
            name = str(value.get("name", "")) + "/" + "/".join(map(str, trail))
            if re.search(r"sasl|password|user", name, re.I) and "value" in value:
                pytest.fail(f"{path}: {value['name']} is a literal; use secretKeyRef")
            if "secretKeyRef" in value:
                references += 1
                assert value["secretKeyRef"]["name"] == "kafka-client", path
    assert references >= 3


def containers() -> Iterator[tuple[str, dict]]:
    for path, document in manifest_documents():
        for trail, value in walk(document):
            if trail and trail[-1] == "containers" and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and "image" in container:
                        yield f"{path.relative_to(REPO_ROOT)}:{container.get('name')}", container


def test_every_container_is_non_root_with_a_read_only_root_filesystem() -> None:
    found = list(containers())
    assert len(found) >= 5
    problems = []
    for where, container in found:
        context = container.get("securityContext") or {}
        if context.get("runAsNonRoot") is not True:
            problems.append(f"{where}: runAsNonRoot is not true")
        if context.get("readOnlyRootFilesystem") is not True:
            problems.append(f"{where}: readOnlyRootFilesystem is not true")
        if context.get("allowPrivilegeEscalation") is not False:
            problems.append(f"{where}: allowPrivilegeEscalation is not false")
    assert problems == []
