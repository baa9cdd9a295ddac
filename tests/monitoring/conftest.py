"""The live monitoring stack (tests/monitoring/stack.py), once per session, and the rendered
manifests from the manifest tests' fixtures. Without Prometheus (`make prometheus`) or the
Kafka broker the live tests are skipped locally and fail under CI=true."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tests.manifests.conftest as manifest_fixtures
from tests.monitoring.stack import LiveStack, live_stack
from tests.support.availability import unavailable
from tests.support.prometheus import prometheus_missing_reason

kustomize = manifest_fixtures.kustomize
rendered = manifest_fixtures.rendered


@pytest.fixture(scope="session")
def prometheus_installed() -> None:
    reason = prometheus_missing_reason()
    if reason:
        unavailable(f"Prometheus unavailable: {reason}")


@pytest.fixture(scope="session")
def live(
    prometheus_installed: None, rendered: dict, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveStack]:
    with live_stack(tmp_path_factory.mktemp("monitoring"), rendered) as stack:
        yield stack
