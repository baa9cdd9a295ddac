"""Rules for the manifests that neither the CRD schemas nor KServe's admission webhooks enforce,
checked offline on a set of rendered resources.

KServe's own webhook rules (replica bounds, autoscaler classes and metrics, spec.canary, graph
root, step names and targets, Splitter weights, ...) and what its controller resolves (serving
runtimes, graph step URLs) are checked for real, against the real API server and KServe
controller, in tests/controlplane. What stays here: Knative Serving's rules for the pods it runs
(one serving port named http1/h2c, autoscaling annotations, volumes, probes), whose webhook does
not run on the local control plane; the project's own conventions (explicit deployment mode,
transformer and explainer flags, custom runtimes, namespace); and wiring that only fails at run
time (graph node references, Switch conditions, Sequence data, Knative Eventing and Kafka
settings).
Each check returns human-readable violations; an empty list means the resources pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tests.manifests.rendering import Component, Resource, annotations, components, key, of_kind

DEPLOYMENT_MODES = {"Knative", "Standard"}
PREDICTOR_PROTOCOLS = {"v1", "v2", "grpc-v2"}
GO_DURATION = re.compile(r"^(\d+(\.\d+)?(h|m|s|ms))+$")
ISO_DURATION = re.compile(r"^P(?!$)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$")
CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "ClusterServingRuntime",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}
KSERVE_HTTP_PORT = 8080


def arg_value(args: list[str], flag: str) -> str | None:
    """Value of `--flag value` or `--flag=value` in an argument list (last one wins)."""
    value = None
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            value = args[index + 1]
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
    return value


def env_value(container: dict[str, Any], name: str) -> str | None:
    for item in container.get("env") or []:
        if item.get("name") == name:
            return item.get("value")
    return None


def deployment_mode(isvc: Resource) -> str | None:
    return annotations(isvc).get("serving.kserve.io/deploymentMode")


# ---------------------------------------------------------------- InferenceService


def inference_service_violations(isvc: Resource) -> list[str]:
    found: list[str] = []
    mode = deployment_mode(isvc)
    if mode not in DEPLOYMENT_MODES:
        found.append(
            f"{key(isvc)}: serving.kserve.io/deploymentMode must be explicit, one of "
            f"{sorted(DEPLOYMENT_MODES)} (got {mode!r})"
        )
    for component in components(isvc):
        found += [
            f"{component.name}: {problem}"
            for problem in _component_violations(component, mode, isvc)
        ]
    return found


def _component_violations(component: Component, mode: str | None, isvc: Resource) -> list[str]:
    spec, found = component.spec, []
    canary = component.role.startswith("canary:")
    if mode == "Knative":
        found += _knative_annotations(spec.get("annotations") or {})
        found += _knative_ports(component)
        found += _knative_pod(component)
    if mode == "Standard":
        # KServe accepts these, and they do nothing in Standard mode.
        if "canaryTrafficPercent" in spec:
            found.append("canaryTrafficPercent is ignored in Standard mode (use spec.canary)")
        if any(
            name.startswith("autoscaling.knative.dev/") for name in spec.get("annotations") or {}
        ):
            found.append("Knative autoscaling annotations do nothing in Standard mode")
        autoscaler = annotations(isvc).get("serving.kserve.io/autoscalerClass", "hpa")
        if not canary and autoscaler == "hpa" and spec.get("minReplicas", 1) < 1:
            found.append("HPA cannot scale to zero: minReplicas must be >= 1")
    if spec.get("containers"):
        found += _custom_container_violations(component)
    return found


def _knative_annotations(values: dict[str, str]) -> list[str]:
    found = []
    initial = values.get("autoscaling.knative.dev/initial-scale")
    if initial is not None and not (initial.isdigit()):
        found.append(f"initial-scale {initial!r} must be a non-negative integer")
    delay = values.get("autoscaling.knative.dev/scale-down-delay")
    if delay is not None:
        if not GO_DURATION.match(delay):
            found.append(f"scale-down-delay {delay!r} is not a duration")
        elif _seconds(delay) > 3600:
            found.append(f"scale-down-delay {delay!r} exceeds Knative's 1h maximum")
    return found


def _seconds(duration: str) -> float:
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    return sum(
        float(number) * units[unit]
        for number, _, unit in re.findall(r"(\d+(\.\d+)?)(ms|h|m|s)", duration)
    )


def _knative_ports(component: Component) -> list[str]:
    found = []
    ports = [port for container in component.containers() for port in container.get("ports") or []]
    if len(ports) > 1:
        found.append(f"Knative allows one serving port, found {len(ports)}")
    for port in ports:
        if port.get("name") not in (None, "http1", "h2c"):
            found.append(f"port name {port.get('name')!r} must be http1 or h2c")
    return found


KNATIVE_RESERVED_PATHS = {"/", "/dev", "/dev/log"}
KNATIVE_RESERVED_ENV = {"PORT", "K_SERVICE", "K_CONFIGURATION", "K_REVISION"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _knative_pod(component: Component) -> list[str]:
    """Knative Serving's pod rules (pkg/apis/serving/k8s_validation.go): volumes, mounts,
    probes and reserved environment variables."""
    found = []
    volumes = {volume["name"]: volume for volume in component.spec.get("volumes") or []}
    containers = component.containers()
    mounted = {mount["name"] for c in containers for mount in c.get("volumeMounts") or []}
    found += [f"volume {name!r} is not mounted" for name in volumes if name not in mounted]
    found += [
        f"volume name {name!r} is not a DNS-1123 label"
        for name in volumes
        if not DNS_LABEL.match(name)
    ]
    for container in containers:
        paths = [
            mount["mountPath"].rstrip("/") or "/" for mount in container.get("volumeMounts") or []
        ]
        if len(paths) != len(set(paths)):
            found.append(f"mount paths are not unique: {paths}")
        for mount in container.get("volumeMounts") or []:
            volume = volumes.get(mount["name"])
            if volume is None:
                found.append(f"volumeMount {mount['name']!r} has no matching volume")
            elif not ({"emptyDir", "persistentVolumeClaim"} & set(volume)) and not mount.get(
                "readOnly"
            ):
                found.append(f"volumeMount {mount['name']!r} must be readOnly for this volume type")
            if (mount["mountPath"].rstrip("/") or "/") in KNATIVE_RESERVED_PATHS:
                found.append(f"mountPath {mount['mountPath']!r} is reserved")
        found += [
            f"{item['name']} is a reserved environment variable"
            for item in container.get("env") or []
            if item["name"] in KNATIVE_RESERVED_ENV
        ]
        port_name = ((container.get("ports") or [{}])[0]).get("name", "")
        for probe_name in ("readinessProbe", "livenessProbe"):
            probe = container.get(probe_name)
            if not probe:
                continue
            port = (probe.get("httpGet") or probe.get("tcpSocket") or {}).get("port")
            if isinstance(port, str) and port != port_name:
                found.append(f"{probe_name} port {port!r} must match the container port name")
            if (
                probe_name == "readinessProbe"
                and probe.get("periodSeconds", 0) > 0
                and (probe.get("timeoutSeconds", 0) < 1 or probe.get("failureThreshold", 0) < 1)
            ):
                found.append(
                    "readinessProbe with periodSeconds "
                    "needs timeoutSeconds and failureThreshold >= 1"
                )
    return found


def _custom_container_violations(component: Component) -> list[str]:
    found = []
    containers = component.spec["containers"]
    if containers[0].get("name") != "kserve-container":
        found.append("the serving container must be named kserve-container")
    protocol = env_value(containers[0], "PROTOCOL")
    if protocol is not None and protocol not in ("v1", "v2"):
        found.append(f"PROTOCOL {protocol!r} must be v1 or v2")
    args = containers[0].get("args") or []
    if component.role == "transformer":
        if env_value(containers[0], "STORAGE_URI") is not None:
            found.append("storage uri should not be specified in the transformer container")
        predictor_protocol = arg_value(args, "--predictor_protocol")
        if predictor_protocol not in PREDICTOR_PROTOCOLS:
            found.append(
                f"--predictor_protocol must be explicit, one of {sorted(PREDICTOR_PROTOCOLS)}"
            )
    # transformer_custom.go, explainer_custom.go
    appends_workers = component.role in ("transformer", "explainer")
    concurrency = "containerConcurrency" in component.spec
    if appends_workers and concurrency and arg_value(args, "--workers") is None:
        found.append("KServe appends `--workers <containerConcurrency>` unless --workers is given")
    if component.role == "explainer":
        found += [
            f"port {port['containerPort']}: KServe appends `--http_port {KSERVE_HTTP_PORT}` "
            "to an explainer's args"
            for port in containers[0].get("ports") or []
            if port.get("containerPort") != KSERVE_HTTP_PORT
        ]
    return found


def explainer_matches_predictor(isvc: Resource) -> list[str]:
    """An explainer running the predictor's image explains what the predictor translates: the
    same model (STORAGE_URI), the same decoding flags, and the model name the `:explain` path
    carries (the one the InferenceService serves under)."""
    spec = isvc.get("spec", {})
    explainer, predictor = spec.get("explainer"), spec.get("predictor", {})
    if not explainer or not explainer.get("containers") or not predictor.get("containers"):
        return []
    explaining, serving = explainer["containers"][0], predictor["containers"][0]
    if explaining.get("image") != serving.get("image"):
        return []
    found = []
    if env_value(explaining, "STORAGE_URI") != env_value(serving, "STORAGE_URI"):
        found.append(f"{key(isvc)}: the explainer's STORAGE_URI is not the predictor's")
    if _decoding_args(explaining) != _decoding_args(serving):
        found.append(
            f"{key(isvc)}: the explainer's flags {_decoding_args(explaining)} differ from the "
            f"predictor's {_decoding_args(serving)}: it would explain other translations"
        )
    name = arg_value(explaining.get("args") or [], "--model_name")
    if name != served_model_name(isvc):
        found.append(
            f"{key(isvc)}: the explainer serves model {name!r}, but `:explain` is called as "
            f"/v1/models/{served_model_name(isvc)}:explain"
        )
    return found


# Flags that place a server (ports, processes), not what it translates.
PLACEMENT_FLAGS = {"--http_port", "--grpc_port", "--workers", "--predictor_host"}


def _decoding_args(container: dict[str, Any]) -> dict[str, str | None]:
    args = container.get("args") or []
    flags = {arg.split("=", 1)[0] for arg in args if arg.startswith("--")} - PLACEMENT_FLAGS
    return {flag: arg_value(args, flag) for flag in sorted(flags)}


def transformer_protocol_matches_predictor_port(isvc: Resource) -> list[str]:
    """A gRPC transformer needs the predictor's one Knative port to be h2c, and vice versa."""
    spec = isvc.get("spec", {})
    if "transformer" not in spec or not spec["predictor"].get("containers"):
        return []
    protocol = arg_value(
        spec["transformer"]["containers"][0].get("args") or [], "--predictor_protocol"
    )
    ports = spec["predictor"]["containers"][0].get("ports") or [{}]
    h2c = ports[0].get("name") == "h2c"
    if (protocol == "grpc-v2") != h2c:
        return [
            f"{key(isvc)}: transformer --predictor_protocol {protocol} but predictor port "
            f"{ports[0].get('name')}"
        ]
    return []


# ---------------------------------------------------------------- runtimes


def runtime_violations(runtime: Resource) -> list[str]:
    found = []
    if "serving.kserve.io/server-type" in annotations(runtime):
        found.append(
            f"{key(runtime)}: a custom runtime must not set serving.kserve.io/server-type "
            "(KServe's webhook would replace the model class)"
        )
    spec = runtime.get("spec", {})
    formats = spec.get("supportedModelFormats") or []
    if not formats:
        found.append(f"{key(runtime)}: supportedModelFormats is empty")
    for model_format in formats:
        if "priority" in model_format and not model_format.get("autoSelect", False):
            found.append(f"{key(runtime)}: priority is only meaningful with autoSelect: true")
    if "v2" not in (spec.get("protocolVersions") or []):
        found.append(f"{key(runtime)}: protocolVersions must include v2")
    containers = spec.get("containers") or []
    if not containers or containers[0].get("name") != "kserve-container":
        found.append(f"{key(runtime)}: the serving container must be named kserve-container")
    return found


# ---------------------------------------------------------------- InferenceGraph


def served_model_name(isvc: Resource) -> str:
    """The model name KServe's graph router uses for an InferenceService (GetModelName)."""
    spec = isvc["spec"]
    if "transformer" in spec and spec["transformer"].get("containers"):
        name = arg_value(spec["transformer"]["containers"][0].get("args") or [], "--model_name")
        if name:
            return name
    predictor = spec["predictor"]
    if "model" in predictor:
        name = env_value(predictor["model"], "MLSERVER_MODEL_NAME") or arg_value(
            predictor["model"].get("args") or [], "--model_name"
        )
        if name:
            return name
    elif predictor.get("containers"):
        name = arg_value(predictor["containers"][0].get("args") or [], "--model_name")
        if name:
            return name
    return isvc["metadata"]["name"]


def graph_violations(graph: Resource) -> list[str]:
    found = []
    if deployment_mode(graph) not in DEPLOYMENT_MODES:
        found.append(f"{key(graph)}: serving.kserve.io/deploymentMode must be explicit")
    nodes = graph.get("spec", {}).get("nodes") or {}
    for node_name, node in nodes.items():
        where = f"{key(graph)} node {node_name}"
        steps = node.get("steps") or []
        if not steps:
            found.append(f"{where}: no steps")
        for index, step in enumerate(steps):
            if step.get("nodeName") and step["nodeName"] not in nodes:
                found.append(f"{where} step {index}: node {step['nodeName']!r} does not exist")
        router = node.get("routerType")
        if router == "Switch" and any(not step.get("condition") for step in steps):
            found.append(f"{where}: every Switch step needs a condition")
        if router == "Sequence":
            for index, step in enumerate(steps):
                if step.get("data") == "$response" and index == 0:
                    found.append(f"{where}: the first step has no $response to use")
                if step.get("mapPredictionsToInstances") and (
                    index + 1 >= len(steps) or steps[index + 1].get("data") != "$response"
                ):
                    found.append(
                        f"{where} step {index}: mapped predictions are not used by the next step"
                    )
    return found


# ---------------------------------------------------------------- Knative Eventing and Kafka


def secret_keys(resources: list[Resource], name: str) -> set[str] | None:
    for secret in of_kind(resources, "Secret"):
        if secret["metadata"]["name"] == name:
            return set(secret.get("data") or {}) | set(secret.get("stringData") or {})
    return None


def _secret_refs(node: Any) -> Iterable[dict[str, Any]]:
    if isinstance(node, dict):
        if "secretKeyRef" in node:
            yield node["secretKeyRef"]
        for value in node.values():
            yield from _secret_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _secret_refs(value)


def kafka_source_violations(source: Resource, resources: list[Resource]) -> list[str]:
    found, spec = [], source.get("spec", {})
    services = {isvc["metadata"]["name"]: isvc for isvc in of_kind(resources, "InferenceService")}
    ref = spec.get("sink", {}).get("ref", {})
    if ref.get("kind") == "InferenceService":
        isvc = services.get(ref.get("name"))
        if isvc is None:
            found.append(f"{key(source)}: sink InferenceService {ref.get('name')!r} is not applied")
        else:
            expected = f"/v1/models/{served_model_name(isvc)}:predict"
            if spec["sink"].get("uri") != expected:
                found.append(
                    f"{key(source)}: sink uri {spec['sink'].get('uri')!r}, expected {expected!r}"
                )
        if not any(_grants_addressable(role) for role in of_kind(resources, "ClusterRole")):
            found.append(
                f"{key(source)}: no addressable-resolver ClusterRole for InferenceServices"
            )
    delivery = spec.get("delivery") or {}
    if delivery.get("retry", 0) < 1:
        found.append(f"{key(source)}: delivery.retry must be >= 1")
    if delivery.get("backoffPolicy") not in ("linear", "exponential"):
        found.append(f"{key(source)}: delivery.backoffPolicy must be linear or exponential")
    for field in ("backoffDelay", "timeout", "retryAfterMax"):
        if field in delivery and not ISO_DURATION.match(delivery[field]):
            found.append(
                f"{key(source)}: delivery.{field} {delivery[field]!r} is not an ISO-8601 duration"
            )
    dead_letter = delivery.get("deadLetterSink", {}).get("ref")
    if not dead_letter:
        found.append(f"{key(source)}: no dead-letter sink")
    elif not any(
        item["kind"] == dead_letter["kind"] and item["metadata"]["name"] == dead_letter["name"]
        for item in resources
    ):
        found.append(
            f"{key(source)}: dead-letter sink {dead_letter['kind']}/{dead_letter['name']} "
            "is not applied"
        )
    for secret_ref in _secret_refs(spec.get("net") or {}):
        keys = secret_keys(resources, secret_ref.get("name", ""))
        if keys is None or secret_ref["key"] not in keys:
            found.append(
                f"{key(source)}: secret {secret_ref.get('name')}/{secret_ref['key']} is not applied"
            )
    return found


def _grants_addressable(role: Resource) -> bool:
    if (role["metadata"].get("labels") or {}).get("duck.knative.dev/addressable") != "true":
        return False
    return any(
        "serving.kserve.io" in rule.get("apiGroups", [])
        and "inferenceservices" in rule.get("resources", [])
        and {"get", "list", "watch"} <= set(rule.get("verbs", []))
        for rule in role.get("rules") or []
    )


def kafka_sink_violations(sink: Resource, resources: list[Resource]) -> list[str]:
    secret = sink.get("spec", {}).get("auth", {}).get("secret", {}).get("ref", {}).get("name")
    if secret and secret_keys(resources, secret) is None:
        return [f"{key(sink)}: auth secret {secret!r} is not applied"]
    return []


def kafka_direct_violations(
    isvc: Resource, resources: list[Resource], known_settings: set[str]
) -> list[str]:
    """The transformer's Kafka settings: present, known to the code, credentials resolvable."""
    transformer = isvc.get("spec", {}).get("transformer")
    if not transformer:
        return []
    found, kafka = kafka_settings_violations(key(isvc), transformer, resources, known_settings)
    if not kafka:
        return found
    drain = kafka.get("KAFKA_DRAIN_TIMEOUT_S")
    if drain and "timeout" in transformer and float(drain) >= transformer["timeout"]:
        found.append(
            f"{key(isvc)}: KAFKA_DRAIN_TIMEOUT_S {drain} must be below the grace period "
            f"(Knative uses the timeout, {transformer['timeout']} s)"
        )
    if deployment_mode(isvc) == "Knative" and transformer.get("minReplicas", 1) < 1:
        found.append(
            f"{key(isvc)}: Knative scales on HTTP only: "
            "a consuming transformer needs minReplicas >= 1"
        )
    return found


def container_environment(
    container: dict[str, Any], resources: list[Resource]
) -> tuple[dict[str, str], list[str]]:
    """The container's environment (ConfigMap values and literal values; secret references
    as "<from secret>"), and the ConfigMaps it names that are not applied."""
    environment: dict[str, str] = {}
    missing = []
    for source in container.get("envFrom") or []:
        name = source.get("configMapRef", {}).get("name")
        maps = [
            item for item in of_kind(resources, "ConfigMap") if item["metadata"]["name"] == name
        ]
        if not maps:
            missing.append(name)
            continue
        environment.update(maps[0].get("data") or {})
    environment.update(
        {item["name"]: item.get("value", "<from secret>") for item in container.get("env") or []}
    )
    return environment, missing


def kafka_settings_violations(
    owner: str, pod: dict[str, Any], resources: list[Resource], known_settings: set[str]
) -> tuple[list[str], dict[str, str]]:
    """The Kafka settings of a pod's first container: known to the code, credentials and CA
    file resolvable. Returns the violations and the KAFKA_* settings."""
    container = pod["containers"][0]
    environment, missing = container_environment(container, resources)
    if missing:
        return [f"{owner}: ConfigMap {name!r} is not applied" for name in missing], {}
    kafka = {name: value for name, value in environment.items() if name.startswith("KAFKA_")}
    if not kafka:
        return [], {}
    found = [
        f"{owner}: {name} is not a setting the transformer reads"
        for name in sorted(set(kafka) - known_settings)
    ]
    if "KAFKA_BOOTSTRAP_SERVERS" not in kafka:
        found.append(f"{owner}: Kafka settings without KAFKA_BOOTSTRAP_SERVERS")
    for secret_ref in _secret_refs(container.get("env") or []):
        keys = secret_keys(resources, secret_ref.get("name", ""))
        if keys is None or secret_ref["key"] not in keys:
            found.append(
                f"{owner}: secret {secret_ref.get('name')}/{secret_ref['key']} is not applied"
            )
    cafile = kafka.get("KAFKA_SSL_CAFILE")
    if cafile:
        found += _mounted_secret_file(owner, pod, container, cafile, resources)
    return found, kafka


def _mounted_secret_file(
    owner: str, pod: dict, container: dict, path: str, resources: list[Resource]
) -> list[str]:
    for mount in container.get("volumeMounts") or []:
        prefix = mount["mountPath"].rstrip("/") + "/"
        if not path.startswith(prefix):
            continue
        volume = next((v for v in pod.get("volumes") or [] if v["name"] == mount["name"]), None)
        if volume is None or "secret" not in volume:
            return [f"{owner}: {path} is not on a Secret volume"]
        relative = path[len(prefix) :]
        items = volume["secret"].get("items")
        keys = secret_keys(resources, volume["secret"]["secretName"]) or set()
        present = {item["path"]: item["key"] for item in items} if items else {k: k for k in keys}
        if relative not in present or present[relative] not in keys:
            return [f"{owner}: {path} is not a key of Secret {volume['secret']['secretName']}"]
        return []
    return [f"{owner}: {path} is not under any volume mount"]


# ---------------------------------------------------------------- KEDA

KEDA_SASL_MODES = {"plaintext", "scram_sha256", "scram_sha512", "oauthbearer", "gssapi"}
DEFAULT_GRACE_PERIOD_S = 30


def kafka_worker_violations(
    deployment: Resource, resources: list[Resource], known_settings: set[str]
) -> list[str]:
    """A Deployment consuming Kafka: known settings, and a grace period longer than its drain."""
    pod = deployment["spec"]["template"]["spec"]
    found, kafka = kafka_settings_violations(key(deployment), pod, resources, known_settings)
    drain = float(kafka.get("KAFKA_DRAIN_TIMEOUT_S", 20)) if kafka else None
    grace = pod.get("terminationGracePeriodSeconds", DEFAULT_GRACE_PERIOD_S)
    if drain is not None and drain >= grace:
        found.append(
            f"{key(deployment)}: KAFKA_DRAIN_TIMEOUT_S {drain:g} must be below "
            f"terminationGracePeriodSeconds ({grace})"
        )
    return found


def scaled_object_violations(scaled: Resource, resources: list[Resource]) -> list[str]:
    """What only fails once KEDA runs it: the scale target and the environment its Kafka
    triggers read, thresholds KEDA parses as integers, credentials that resolve."""
    spec = scaled.get("spec", {})
    ref = spec.get("scaleTargetRef", {})
    kind = ref.get("kind", "Deployment")
    targets = [item for item in of_kind(resources, kind) if item["metadata"]["name"] == ref["name"]]
    if not targets:
        return [f"{key(scaled)}: scale target {kind}/{ref['name']} is not applied"]
    found = []
    low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if high < max(low, 1):
        found.append(
            f"{key(scaled)}: maxReplicaCount {high} must be at least 1 and minReplicaCount {low}"
        )
    container = targets[0]["spec"]["template"]["spec"]["containers"][0]
    environment, _ = container_environment(container, resources)
    for trigger in spec.get("triggers") or []:
        if trigger.get("type") != "kafka":
            continue
        found += _kafka_trigger_violations(key(scaled), trigger, environment, resources)
    return found


def _kafka_trigger_violations(
    owner: str, trigger: dict[str, Any], environment: dict[str, str], resources: list[Resource]
) -> list[str]:
    found = []
    metadata = trigger.get("metadata") or {}
    for name in ("bootstrapServers", "consumerGroup", "topic"):
        variable = metadata.get(f"{name}FromEnv")
        if variable is None:
            if name not in metadata and name != "topic":
                found.append(f"{owner}: the kafka trigger has no {name}")
            continue
        if variable not in environment:
            found.append(f"{owner}: {name}FromEnv {variable} is not in the target's environment")
        elif name == "topic" and "," in environment[variable]:
            found.append(f"{owner}: topicFromEnv {variable} names several topics; KEDA takes one")
    for name in ("lagThreshold", "activationLagThreshold"):
        value = metadata.get(name)
        if value is not None and not (value.isdigit() and int(value) >= (name == "lagThreshold")):
            found.append(f"{owner}: {name} {value!r} is not a whole number KEDA accepts")
    if metadata.get("sasl", "none") not in KEDA_SASL_MODES | {"none"}:
        found.append(f"{owner}: sasl {metadata['sasl']!r} is not a KEDA SASL mode")
    auth = trigger.get("authenticationRef")
    if auth is None:
        return found
    kind = auth.get("kind", "TriggerAuthentication")
    matches = [
        item for item in of_kind(resources, kind) if item["metadata"]["name"] == auth["name"]
    ]
    if not matches:
        return [*found, f"{owner}: {kind} {auth['name']!r} is not applied"]
    for target in matches[0]["spec"].get("secretTargetRef") or []:
        keys = secret_keys(resources, target["name"])
        if keys is None or target["key"] not in keys:
            found.append(f"{owner}: secret {target['name']}/{target['key']} is not applied")
        if target["parameter"] in metadata:
            found.append(
                f"{owner}: {target['parameter']} is set on the trigger and in {auth['name']}"
            )
    return found


# ---------------------------------------------------------------- namespaces


def namespace_violations(resources: list[Resource], namespace: str) -> list[str]:
    found = []
    namespaced = [item for item in resources if item["kind"] not in CLUSTER_SCOPED]
    for item in resources:
        actual = item["metadata"].get("namespace")
        if item["kind"] in CLUSTER_SCOPED and actual is not None:
            found.append(f"{key(item)}: cluster-scoped but has namespace {actual!r}")
        if item["kind"] not in CLUSTER_SCOPED and actual != namespace:
            found.append(f"{key(item)}: namespace must be {namespace!r} (got {actual!r})")
    if namespaced and not any(
        item["kind"] == "Namespace" and item["metadata"]["name"] == namespace for item in resources
    ):
        found.append(f"the Namespace {namespace} is not created with its resources")
    return found


def all_violations(resources: list[Resource], known_kafka_settings: set[str]) -> list[str]:
    found: list[str] = []
    for isvc in of_kind(resources, "InferenceService"):
        found += inference_service_violations(isvc)
        found += transformer_protocol_matches_predictor_port(isvc)
        found += explainer_matches_predictor(isvc)
        found += kafka_direct_violations(isvc, resources, known_kafka_settings)
    for kind in ("ServingRuntime", "ClusterServingRuntime"):
        for runtime in of_kind(resources, kind):
            found += runtime_violations(runtime)
    for graph in of_kind(resources, "InferenceGraph"):
        found += graph_violations(graph)
    for source in of_kind(resources, "KafkaSource"):
        found += kafka_source_violations(source, resources)
    for sink in of_kind(resources, "KafkaSink"):
        found += kafka_sink_violations(sink, resources)
    for deployment in of_kind(resources, "Deployment"):
        found += kafka_worker_violations(deployment, resources, known_kafka_settings)
    for scaled in of_kind(resources, "ScaledObject"):
        found += scaled_object_violations(scaled, resources)
    found += namespace_violations(resources, "kserve-argos")
    return found
