"""Adapt upstream install manifests to a control plane whose KServe controller runs outside the
cluster and that has no other operators (scripts/controlplane.sh).

Standard library only: it runs with the system python3, before any project virtualenv exists.
Reads the JSON that `kubectl create --dry-run=client -o json` makes of upstream YAML on stdin and
writes JSON for `kubectl apply -f -` on stdout.

    manifests.py webhooks PORT CA_FILE   KServe's webhook configurations, calling https://127.0.0.1:PORT
    manifests.py ingress                 KServe's inferenceservice-config, Gateway API enabled
    manifests.py crds                    CRDs of other operators, without their conversion webhooks
"""

from __future__ import annotations

import base64
import json
import sys
from pathlib import Path
from typing import Any

Document = dict[str, Any]

# Pods are never created here (no kubelet, no Deployment controller): their mutator is left out.
SKIPPED_WEBHOOK_PATHS = {"/mutate-pods"}
# The API server's largest webhook timeout: the controller shares two cores with everything else.
WEBHOOK_TIMEOUT_SECONDS = 30
# What the control plane changes in KServe's ingress settings, and why:
# - enableGatewayApi: Standard-mode InferenceServices get Gateway API HTTPRoutes instead of an
#   Ingress (the Gateway API CRDs are installed); docs/deploy.md, standard-canary.
# - disableIstioVirtualHost: there is no Istio; otherwise every reconcile warns about it.
INGRESS_SETTINGS = {"enableGatewayApi": True, "disableIstioVirtualHost": True}


def read_documents(text: str) -> list[Document]:
    """kubectl prints one JSON object per input document, one after the other."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    while position < len(text):
        if text[position].isspace():
            position += 1
            continue
        document, position = decoder.raw_decode(text, position)
        documents.extend(document["items"] if document.get("kind") == "List" else [document])
    return documents


def as_list(resources: list[Document]) -> Document:
    return {"apiVersion": "v1", "kind": "List", "items": resources}


def webhooks(documents: list[Document], port: int, ca_file: Path) -> Document:
    ca_bundle = base64.b64encode(ca_file.read_bytes()).decode()
    configurations = []
    for configuration in documents:
        hooks = []
        for hook in configuration.get("webhooks") or []:
            path = hook["clientConfig"]["service"]["path"]
            if path in SKIPPED_WEBHOOK_PATHS:
                continue
            hook["clientConfig"] = {"url": f"https://127.0.0.1:{port}{path}", "caBundle": ca_bundle}
            hook["timeoutSeconds"] = WEBHOOK_TIMEOUT_SECONDS
            hooks.append(hook)
        if hooks:
            configuration["webhooks"] = hooks
            configurations.append(configuration)
    return as_list(configurations)


def ingress(documents: list[Document]) -> Document:
    (config_map,) = documents
    settings = json.loads(config_map["data"]["ingress"])
    settings.update(INGRESS_SETTINGS)
    config_map["data"]["ingress"] = json.dumps(settings, indent=2)
    return config_map


def crds(documents: list[Document]) -> Document:
    """Conversion webhooks point at the operator's own Service, which does not run here: the API
    server would fail every read of a non-storage version (the garbage collector and namespace
    deletion read the preferred one). Without them it only relabels the version."""
    found = [item for item in documents if item.get("kind") == "CustomResourceDefinition"]
    for crd in found:
        if (crd["spec"].get("conversion") or {}).get("strategy") == "Webhook":
            crd["spec"]["conversion"] = {"strategy": "None"}
    return as_list(found)


def main(argv: list[str]) -> int:
    documents = read_documents(sys.stdin.read())
    if argv[:1] == ["webhooks"] and len(argv) == 3:
        result = webhooks(documents, int(argv[1]), Path(argv[2]))
    elif argv == ["ingress"]:
        result = ingress(documents)
    elif argv == ["crds"]:
        result = crds(documents)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
