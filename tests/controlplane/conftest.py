"""One local control plane for the tests of this package (scripts/controlplane.sh up, state in a
temp folder, stopped when they are done, before the rest of the suite runs), and a clean
`kserve-argos` namespace for each test.

The binaries come from `make controlplane-build` (in TEST_DEPS, so `make test` builds them once).
Without them, or without kubectl/openssl/go, the tests are skipped locally and fail under CI=true.
The other operators' CRDs (KafkaSource, KafkaSink, PodMonitor, KEDA) come from ../shared/schemas.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.controlplane.cluster import ControlPlane, ControlPlaneError, missing_reason
from tests.support.availability import unavailable


@pytest.fixture(scope="package")
def controlplane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ControlPlane]:
    reason = missing_reason()
    if reason:
        unavailable(f"local control plane unavailable: {reason}")
    plane = ControlPlane(tmp_path_factory.mktemp("controlplane") / "run")
    try:
        plane.up()
    except ControlPlaneError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield plane
    finally:
        plane.down()


@pytest.fixture
def cluster(controlplane: ControlPlane) -> Iterator[ControlPlane]:
    """The control plane, with what the test applies deleted afterwards."""
    try:
        yield controlplane
    finally:
        controlplane.reset()
