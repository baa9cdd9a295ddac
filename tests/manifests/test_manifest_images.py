"""Images, ports, commands and arguments in the manifests match the Dockerfiles' ENTRYPOINT /
CMD / EXPOSE, and every flag the manifests (or KServe) pass is one the entrypoint accepts."""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.manifests.dockerfile_model import Dockerfile, all_dockerfiles
from tests.manifests.rendering import REPO_ROOT, Resource, components, key, of_kind
from tests.manifests.webhook_rules import arg_value, env_value
from tests.support.processes import venv_python

IMAGE_PREFIX = "kserve-argos"
VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
DOCKERFILES = {dockerfile.image: dockerfile for dockerfile in all_dockerfiles()}
# Arguments KServe appends to a custom transformer or explainer container
# (transformer_custom.go, explainer_custom.go), by component role.
KSERVE_APPENDED_ARGS = {
    "transformer": ("--model_name", "--predictor_host", "--http_port", "--workers"),
    "explainer": ("--model_name", "--predictor_host", "--http_port", "--workers"),
}
KSERVE_DEFAULT_HTTP_PORT = 8080
# How to ask each image's entrypoint for its flags, from the image's own environment.
HELP_COMMANDS = {
    "kserve-predictor": ("kserve", ["-m", "argos_kserve", "--help"]),
    "transformer": ("transformer", ["-m", "argos_transformer", "--help"]),
}


def our_containers(rendered: dict) -> Iterator[tuple[str, str, dict[str, Any], Dockerfile]]:
    """(overlay, where, container, Dockerfile) for every container of every rendered resource."""
    for overlay, resources in rendered.items():
        for resource in resources:
            for where, container in _containers(resource):
                image = container.get("image", "")
                match = re.fullmatch(rf"{IMAGE_PREFIX}/([a-z-]+):(.+)", image)
                assert match, f"{overlay} {where}: image {image!r} is not one of ours"
                yield overlay, where, container, DOCKERFILES[match.group(1)]


def _containers(resource: Resource) -> Iterator[tuple[str, dict[str, Any]]]:
    if resource["kind"] == "InferenceService":
        for component in components(resource):
            for container in component.spec.get("containers") or []:
                yield component.name, container
    elif resource["kind"] in ("ServingRuntime", "ClusterServingRuntime"):
        for container in resource["spec"]["containers"]:
            yield key(resource), container
    elif resource["kind"] == "Deployment":
        for container in resource["spec"]["template"]["spec"]["containers"]:
            yield key(resource), container


def test_every_manifest_image_has_a_dockerfile_and_the_project_version(rendered: dict) -> None:
    seen = set()
    for overlay, where, container, dockerfile in our_containers(rendered):
        assert container["image"] == f"{IMAGE_PREFIX}/{dockerfile.image}:{VERSION}", (
            overlay,
            where,
        )
        seen.add(dockerfile.image)
    assert seen == set(DOCKERFILES), f"images never deployed: {set(DOCKERFILES) - seen}"


def test_commands_ports_and_args_match_the_dockerfiles(rendered: dict) -> None:
    problems = []
    for overlay, where, container, dockerfile in our_containers(rendered):
        final = dockerfile.final
        label = f"{overlay} {where} ({dockerfile.image})"
        if "command" in container and container["command"] != final.exec_form("ENTRYPOINT"):
            problems.append(f"{label}: command {container['command']} is not the ENTRYPOINT")
        exposed = set(final.exposed_ports())
        ports = {port["containerPort"]: port.get("name") for port in container.get("ports") or []}
        problems += [
            f"{label}: port {port} is not EXPOSEd" for port in ports if port not in exposed
        ]
        problems += _server_specific(label, dockerfile.image, container, ports, exposed)
    assert not problems, "\n".join(problems)


def _server_specific(
    label: str, image: str, container: dict, ports: dict, exposed: set
) -> list[str]:
    args = container.get("args") or []
    problems = []
    if image == "kserve-predictor":
        http, grpc = (
            int(arg_value(args, "--http_port") or 8080),
            int(arg_value(args, "--grpc_port") or 8081),
        )
        problems += [
            f"{label}: --http_port {http} / --grpc_port {grpc} not EXPOSEd"
            for port in (http, grpc)
            if port not in exposed
        ]
        for port, name in ports.items():
            if (name, port) not in (("http1", http), ("h2c", grpc)):
                problems.append(
                    f"{label}: port {name}:{port} is neither http1:{http} nor h2c:{grpc}"
                )
        problems += _probe_port(label, container, http)
        if arg_value(args, "--model_name") is None:
            problems.append(f"{label}: --model_name not given")
        storage = env_value(container, "STORAGE_URI") is not None
        if storage != (arg_value(args, "--model_dir") == "/mnt/models"):
            problems.append(f"{label}: STORAGE_URI and --model_dir /mnt/models go together")
    elif image == "transformer":
        if arg_value(args, "--http_port") not in (None, str(KSERVE_DEFAULT_HTTP_PORT)):
            problems.append(f"{label}: --http_port differs from KServe's default")
        problems += [
            f"{label}: port {port} is not the HTTP port {KSERVE_DEFAULT_HTTP_PORT}"
            for port in ports
            if port != KSERVE_DEFAULT_HTTP_PORT
        ]
        problems += _probe_port(label, container, KSERVE_DEFAULT_HTTP_PORT)
    elif image == "mlserver-predictor":
        http = int(env_value(container, "MLSERVER_HTTP_PORT") or 0)
        problems += [
            f"{label}: {name} is not EXPOSEd"
            for name in ("MLSERVER_HTTP_PORT", "MLSERVER_GRPC_PORT", "MLSERVER_METRICS_PORT")
            if int(env_value(container, name) or 0) not in exposed
        ]
        problems += [
            f"{label}: port {port} is not MLSERVER_HTTP_PORT {http}"
            for port in ports
            if port != http
        ]
        if args[:1] != ["start"]:
            problems.append(f"{label}: args {args} do not run `mlserver start`")
        if env_value(container, "MLSERVER_MODEL_URI") != "/mnt/models":
            problems.append(f"{label}: MLSERVER_MODEL_URI must be the storage mount /mnt/models")
    return problems


def _probe_port(label: str, container: dict, http_port: int) -> list[str]:
    problems = []
    for probe in ("readinessProbe", "livenessProbe"):
        port = container.get(probe, {}).get("httpGet", {}).get("port")
        if port is not None and port != http_port:
            problems.append(f"{label}: {probe} on port {port}, the HTTP server is on {http_port}")
    return problems


def test_mlserver_runtime_uses_the_images_model_class(rendered: dict) -> None:
    settings = json.loads(
        (REPO_ROOT / "predictors/argos_mlserver/settings/model-settings.json").read_text()
    )
    module, _, cls = settings["implementation"].rpartition(".")
    source = REPO_ROOT / "predictors" / (module.replace(".", "/") + ".py")
    assert f"class {cls}(" in source.read_text()
    runtimes = [
        item
        for resources in rendered.values()
        for kind in ("ServingRuntime", "ClusterServingRuntime")
        for item in of_kind(resources, kind)
    ]
    assert runtimes
    for runtime in runtimes:
        container = runtime["spec"]["containers"][0]
        assert env_value(container, "MLSERVER_MODEL_IMPLEMENTATION") == settings["implementation"]


@pytest.fixture(scope="module")
def help_texts() -> dict[str, str]:
    """`--help` of each entrypoint, run from its image environment (both at once: importing
    KServe takes a while)."""
    processes = {
        image: subprocess.Popen(
            [str(venv_python(venv)), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO_ROOT,
        )
        for image, (venv, argv) in HELP_COMMANDS.items()
    }
    texts = {}
    for image, process in processes.items():
        stdout, stderr = process.communicate(timeout=180)
        assert process.returncode == 0, f"{image} --help failed:\n{stderr[-3000:]}"
        texts[image] = stdout
    return texts


@pytest.mark.parametrize("image", sorted(HELP_COMMANDS))
def test_every_flag_passed_is_accepted_by_the_entrypoint(
    image: str, rendered: dict, help_texts: dict[str, str]
) -> None:
    """The entrypoints parse with parse_known_args: a misspelt flag would be silently ignored."""
    flags = set()
    for _, where, container, dockerfile in our_containers(rendered):
        if dockerfile.image == image:
            arguments = [*(dockerfile.final.exec_form("CMD") or []), *(container.get("args") or [])]
            flags |= {arg.split("=", 1)[0] for arg in arguments if arg.startswith("--")}
            flags |= set(KSERVE_APPENDED_ARGS.get(where.rsplit(" ", 1)[-1], ()))
    accepted = set(re.findall(r"(--[a-z_][a-z0-9_-]*)", help_texts[image]))
    assert flags, f"no flags found for {image}"
    assert flags <= accepted, f"{image} does not accept {sorted(flags - accepted)}"


def test_every_server_in_the_cluster_logs_json(rendered: dict, help_texts: dict[str, str]) -> None:
    """ARGOS_LOG_FORMAT=json on the KServe predictor, transformer and Kafka worker containers
    (read by their entrypoints: their --help names it); the MLServer runtime's logging
    settings are the JSON ones, at the path the image installs them."""
    for image in HELP_COMMANDS:
        assert "ARGOS_LOG_FORMAT" in help_texts[image], f"{image} does not read ARGOS_LOG_FORMAT"
    problems = []
    for overlay, where, container, dockerfile in our_containers(rendered):
        label = f"{overlay} {where} ({dockerfile.image})"
        if dockerfile.image in HELP_COMMANDS:
            if env_value(container, "ARGOS_LOG_FORMAT") != "json":
                problems.append(f"{label}: ARGOS_LOG_FORMAT is not json")
            continue
        path = env_value(container, "MLSERVER_LOGGING_SETTINGS") or ""
        source = next(
            (
                REPO_ROOT / copy.sources[0] / path.removeprefix(copy.destination + "/")
                for copy in dockerfile.final.copies()
                if copy.from_stage is None and path.startswith(copy.destination + "/")
            ),
            None,
        )
        if source is None or not source.is_file():
            problems.append(f"{label}: MLSERVER_LOGGING_SETTINGS {path!r} is not in the image")
        elif "argos_protocol.logs.JsonFormatter" not in source.read_text():
            problems.append(f"{label}: {path} does not format JSON")
    assert problems == []
