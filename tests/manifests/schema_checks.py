"""One entry point to validate any resource: CRD kinds against the upstream CRDs (strict),
core kinds against kubernetes-validate's bundled schemas (strict), the rest refused unless
listed in NOT_VALIDATED with the reason."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

from tests.manifests.crd_schema import CrdVersion, validation_errors

# Oldest and newest Kubernetes versions the manifests are checked against.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")

# Kinds whose CRDs are not among the schemas available offline; the rules tests check how they
# are wired instead (selectors, references), not their fields.
NOT_VALIDATED = {
    (
        "eventing.knative.dev/v1alpha1",
        "KafkaSink",
    ): "Knative eventing-kafka KafkaSink CRD is not in the schemas folder",
}

Crds = dict[tuple[str, str], CrdVersion]


def resource_errors(resource: dict[str, Any], crds: Crds) -> list[str] | None:
    """Schema violations (empty list when valid); None for a kind listed in NOT_VALIDATED."""
    identity = (resource.get("apiVersion", ""), resource.get("kind", ""))
    if identity in crds:
        return validation_errors(resource, crds[identity])
    if identity in NOT_VALIDATED:
        return None
    errors = []
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(resource, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.absolute_path) or "<root>"
            errors.append(f"k8s {version}: {where}: {error.message}")
        except kubernetes_validate.SchemaNotFoundError as error:
            errors.append(f"no schema: {error.message}")
    return errors
