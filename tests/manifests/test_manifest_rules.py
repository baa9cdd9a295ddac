"""The offline rules of webhook_rules.py (Knative's pod rules, project conventions, wiring that
fails only at run time) on every overlay; each rule also gets a broken variant it must catch.
KServe's own admission rules are checked against the real webhooks in tests/controlplane."""

from __future__ import annotations

import copy
import re

import pytest
import yaml

from tests.manifests.rendering import MANIFESTS, REPO_ROOT, Resource, of_kind, overlay_names
from tests.manifests.webhook_rules import all_violations

KAFKA_SETTINGS_SOURCE = REPO_ROOT / "transformers" / "argos_transformer" / "kafka" / "settings.py"


@pytest.fixture(scope="module")
def kafka_settings() -> set[str]:
    """The KAFKA_* variables the transformer's Kafka settings actually read."""
    names = set(re.findall(r'"(KAFKA_[A-Z_]+)"', KAFKA_SETTINGS_SOURCE.read_text()))
    assert "KAFKA_BOOTSTRAP_SERVERS" in names
    return names


@pytest.mark.parametrize("overlay", overlay_names())
def test_overlay_follows_the_admission_rules(
    overlay: str, rendered: dict, kafka_settings: set
) -> None:
    violations = all_violations(rendered[overlay], kafka_settings)
    assert not violations, f"{overlay}:\n" + "\n".join(f"  {item}" for item in violations)


def test_cluster_runtime_is_the_namespaced_runtime_cluster_wide() -> None:
    namespaced = yaml.safe_load((MANIFESTS / "mlserver/runtime/servingruntime.yaml").read_text())
    cluster = yaml.safe_load(
        (MANIFESTS / "mlserver/cluster-runtime/clusterservingruntime.yaml").read_text()
    )
    assert cluster["kind"] == "ClusterServingRuntime"
    assert cluster["metadata"]["name"] == namespaced["metadata"]["name"]
    assert cluster["spec"] == namespaced["spec"]


# ------------------------------------------------------------ each rule catches its violation


def _copy(rendered: dict, overlay: str) -> list[Resource]:
    return copy.deepcopy(rendered[overlay])


def _named(resources: list[Resource], kind: str, name: str) -> Resource:
    return next(item for item in of_kind(resources, kind) if item["metadata"]["name"] == name)


def _violations(resources: list[Resource], kafka_settings: set[str]) -> str:
    return "\n".join(all_violations(resources, kafka_settings))


def test_catches_knative_fields_in_standard_mode(rendered: dict, kafka_settings: set) -> None:
    resources = _copy(rendered, "standard-canary")
    isvc = _named(resources, "InferenceService", "translator")
    isvc["spec"]["predictor"]["canaryTrafficPercent"] = 10
    isvc["spec"]["predictor"]["minReplicas"] = 0
    isvc["spec"]["predictor"]["annotations"] = {"autoscaling.knative.dev/target": "8"}
    found = _violations(resources, kafka_settings)
    assert "canaryTrafficPercent is ignored in Standard mode" in found
    assert "HPA cannot scale to zero" in found
    assert "Knative autoscaling annotations do nothing in Standard mode" in found


def test_catches_missing_deployment_mode_and_ports(rendered: dict, kafka_settings: set) -> None:
    resources = _copy(rendered, "default")
    isvc = _named(resources, "InferenceService", "translator")
    del isvc["metadata"]["annotations"]["serving.kserve.io/deploymentMode"]
    found = _violations(resources, kafka_settings)
    assert "deploymentMode must be explicit" in found
    resources = _copy(rendered, "default")
    isvc = _named(resources, "InferenceService", "translator")
    isvc["spec"]["predictor"]["containers"][0]["ports"].append(
        {"name": "grpc", "containerPort": 8081}
    )
    isvc["spec"]["predictor"]["annotations"]["autoscaling.knative.dev/scale-down-delay"] = "2h"
    found = _violations(resources, kafka_settings)
    assert "Knative allows one serving port, found 2" in found
    assert "port name 'grpc' must be http1 or h2c" in found
    assert "exceeds Knative's 1h maximum" in found


def test_catches_knative_pod_mistakes(rendered: dict, kafka_settings: set) -> None:
    resources = _copy(rendered, "kafka-direct")
    transformer = _named(resources, "InferenceService", "translator")["spec"]["transformer"]
    container = transformer["containers"][0]
    container["volumeMounts"][1]["readOnly"] = False
    container["volumeMounts"].append({"name": "ghost", "mountPath": "/dev"})
    transformer["volumes"].append({"name": "Unused_Volume", "emptyDir": {}})
    container["env"].append({"name": "PORT", "value": "9000"})
    container["readinessProbe"]["httpGet"]["port"] = "http"
    del container["readinessProbe"]["timeoutSeconds"]
    found = _violations(resources, kafka_settings)
    assert "volumeMount 'kafka-client' must be readOnly" in found
    assert "volumeMount 'ghost' has no matching volume" in found
    assert "mountPath '/dev' is reserved" in found
    assert "volume 'Unused_Volume' is not mounted" in found
    assert "'Unused_Volume' is not a DNS-1123 label" in found
    assert "PORT is a reserved environment variable" in found
    assert "readinessProbe port 'http' must match the container port name" in found
    assert "needs timeoutSeconds and failureThreshold >= 1" in found


def test_catches_transformer_mistakes(rendered: dict, kafka_settings: set) -> None:
    resources = _copy(rendered, "grpc")
    transformer = _named(resources, "InferenceService", "translator")["spec"]["transformer"]
    transformer["containers"][0]["args"] = [
        "--model_name",
        "translator",
        "--predictor_protocol",
        "v2",
    ]
    found = _violations(resources, kafka_settings)
    assert "transformer --predictor_protocol v2 but predictor port h2c" in found
    assert "KServe appends `--workers <containerConcurrency>`" in found
    transformer["containers"][0]["args"] = ["--model_name", "translator", "--workers", "1"]
    transformer["containers"][0]["env"] = [{"name": "STORAGE_URI", "value": "s3://x"}]
    found = _violations(resources, kafka_settings)
    assert "--predictor_protocol must be explicit" in found
    assert "storage uri should not be specified in the transformer" in found


def test_catches_an_explainer_that_explains_something_else(
    rendered: dict, kafka_settings: set
) -> None:
    resources = _copy(rendered, "explain")
    explainer = _named(resources, "InferenceService", "translator")["spec"]["explainer"]
    container = explainer["containers"][0]
    container["env"][0]["value"] = "https://example.com/other.argosmodel"
    container["args"] = [*container["args"], "--beam_size", "4"]
    container["args"][container["args"].index("--model_name") + 1] = "explainer"
    container["ports"][0]["containerPort"] = 9000
    explainer["containerConcurrency"] = 8
    found = _violations(resources, kafka_settings)
    assert "the explainer's STORAGE_URI is not the predictor's" in found
    assert "'--beam_size': '4'" in found
    assert "/v1/models/translator:explain" in found
    assert "KServe appends `--http_port 8080` to an explainer's args" in found
    assert "KServe appends `--workers <containerConcurrency>`" in found


def test_catches_runtime_mistakes(rendered: dict, kafka_settings: set) -> None:
    resources = _copy(rendered, "mlserver")
    runtime = _named(resources, "ServingRuntime", "argos-mlserver")
    runtime["metadata"]["annotations"] = {"serving.kserve.io/server-type": "mlserver"}
    runtime["spec"]["protocolVersions"] = ["v1"]
    found = _violations(resources, kafka_settings)
    assert "must not set serving.kserve.io/server-type" in found
    assert "protocolVersions must include v2" in found


def test_catches_graph_mistakes(rendered: dict, kafka_settings: set) -> None:
    resources = _copy(rendered, "graphs")
    switch = _named(resources, "InferenceGraph", "translate-by-target")["spec"]["nodes"]["root"]
    del switch["steps"][0]["condition"]
    switch["steps"][1]["nodeName"] = "elsewhere"
    del switch["steps"][1]["serviceName"]
    pivot = _named(resources, "InferenceGraph", "translate-pivot")["spec"]["nodes"]["root"]
    pivot["steps"][0]["data"] = "$response"
    found = _violations(resources, kafka_settings)
    assert "every Switch step needs a condition" in found
    assert "node 'elsewhere' does not exist" in found
    assert "the first step has no $response to use" in found


def test_catches_kafka_source_mistakes(rendered: dict, kafka_settings: set) -> None:
    resources = [
        item
        for item in _copy(rendered, "kafka-source")
        if item["kind"] not in ("ClusterRole", "KafkaSink")
    ]
    source = _named(resources, "KafkaSource", "translation-requests")
    source["spec"]["sink"]["uri"] = "/v1/models/translator-x:predict"
    source["spec"]["delivery"]["backoffDelay"] = "1s"
    source["spec"]["net"]["sasl"]["user"]["secretKeyRef"]["key"] = "username"
    found = _violations(resources, kafka_settings)
    assert "expected '/v1/models/translator:predict'" in found
    assert "no addressable-resolver ClusterRole" in found
    assert "'1s' is not an ISO-8601 duration" in found
    assert "dead-letter sink KafkaSink/translation-requests-dlq is not applied" in found
    assert "secret kafka-client/username is not applied" in found


def test_catches_kafka_direct_mistakes(rendered: dict, kafka_settings: set) -> None:
    resources = _copy(rendered, "kafka-direct")
    isvc = _named(resources, "InferenceService", "translator")
    isvc["spec"]["transformer"]["minReplicas"] = 0
    config = _named(resources, "ConfigMap", "translator-kafka")
    config["data"]["KAFKA_TOPIC"] = "typo"
    config["data"]["KAFKA_SSL_CAFILE"] = "/etc/elsewhere/ca.crt"
    config["data"]["KAFKA_DRAIN_TIMEOUT_S"] = "300"
    found = _violations(resources, kafka_settings)
    assert "KAFKA_TOPIC is not a setting the transformer reads" in found
    assert "/etc/elsewhere/ca.crt is not under any volume mount" in found
    assert "a consuming transformer needs minReplicas >= 1" in found
    assert "KAFKA_DRAIN_TIMEOUT_S 300 must be below the grace period" in found


def test_catches_namespace_mistakes(rendered: dict, kafka_settings: set) -> None:
    resources = [
        item for item in _copy(rendered, "mlserver-cluster") if item["kind"] != "Namespace"
    ]
    _named(resources, "ClusterServingRuntime", "argos-mlserver")["metadata"]["namespace"] = (
        "kserve-argos"
    )
    del _named(resources, "InferenceService", "translator-mlserver")["metadata"]["namespace"]
    found = _violations(resources, kafka_settings)
    assert "cluster-scoped but has namespace 'kserve-argos'" in found
    assert "namespace must be 'kserve-argos' (got None)" in found
    assert "the Namespace kserve-argos is not created" in found


def test_catches_kafka_keda_mistakes(rendered: dict, kafka_settings: set) -> None:
    resources = _copy(rendered, "kafka-keda")
    worker = _named(resources, "Deployment", "translator-kafka-worker")["spec"]["template"]
    worker["spec"]["terminationGracePeriodSeconds"] = 30  # the drain takes up to 60 s
    worker["spec"]["containers"][0]["env"].append({"name": "KAFKA_LAG", "value": "1"})
    scaled = _named(resources, "ScaledObject", "translator-kafka-worker")["spec"]
    trigger = scaled["triggers"][0]["metadata"]
    trigger["consumerGroupFromEnv"] = "KAFKA_GROUP"
    trigger["lagThreshold"] = "0.5"
    trigger["username"] = "translator"
    scaled["maxReplicaCount"] = 0
    found = _violations(resources, kafka_settings)
    assert "KAFKA_LAG is not a setting the transformer reads" in found
    assert "KAFKA_DRAIN_TIMEOUT_S 60 must be below terminationGracePeriodSeconds (30)" in found
    assert "consumerGroupFromEnv KAFKA_GROUP is not in the target's environment" in found
    assert "lagThreshold '0.5' is not a whole number" in found
    assert "username is set on the trigger and in kafka-client" in found
    assert "maxReplicaCount 0 must be at least 1 and minReplicaCount 0" in found
    scaled["scaleTargetRef"]["name"] = "elsewhere"
    found = _violations(resources, kafka_settings)
    assert "scale target Deployment/elsewhere is not applied" in found
