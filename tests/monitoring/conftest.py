"""Prometheus (`make prometheus`) and the rendered manifests from the manifest tests' fixtures.
Without Prometheus the tests are skipped locally and fail under CI=true."""

from __future__ import annotations

import pytest

import tests.manifests.conftest as manifest_fixtures
from tests.support.availability import unavailable
from tests.support.prometheus import prometheus_missing_reason

kustomize = manifest_fixtures.kustomize
rendered = manifest_fixtures.rendered


@pytest.fixture(scope="session")
def prometheus_installed() -> None:
    reason = prometheus_missing_reason()
    if reason:
        unavailable(f"Prometheus unavailable: {reason}")
