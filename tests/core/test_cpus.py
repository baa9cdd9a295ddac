"""The CPU count the engine sizes itself by: the container's CFS quota, else the affinity mask."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from argos_core.cpus import available_cpus, cgroup_cpu_quota
from argos_core.settings import EngineSettings

AFFINITY = len(os.sched_getaffinity(0))


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n")


@pytest.mark.parametrize(
    ("content", "quota"),
    [("200000 100000", 2.0), ("150000 100000", 1.5), ("max 100000", None), ("50000", 0.5)],
)
def test_cgroup_v2_cpu_max(tmp_path: Path, content: str, quota: float | None) -> None:
    write(tmp_path, "cpu.max", content)
    assert cgroup_cpu_quota(tmp_path) == quota


@pytest.mark.parametrize(("quota_us", "expected"), [("300000", 3.0), ("-1", None)])
def test_cgroup_v1_cfs_quota(tmp_path: Path, quota_us: str, expected: float | None) -> None:
    write(tmp_path, "cpu,cpuacct/cpu.cfs_quota_us", quota_us)
    write(tmp_path, "cpu,cpuacct/cpu.cfs_period_us", "100000")
    assert cgroup_cpu_quota(tmp_path) == expected


def test_no_cgroup_files_means_no_quota(tmp_path: Path) -> None:
    assert cgroup_cpu_quota(tmp_path) is None
    assert available_cpus(tmp_path) == AFFINITY


def test_a_fractional_quota_rounds_up_and_never_exceeds_the_affinity_mask(tmp_path: Path) -> None:
    write(tmp_path, "cpu.max", "50000 100000")
    assert available_cpus(tmp_path) == 1
    write(tmp_path, "cpu.max", f"{(AFFINITY + 8) * 100000} 100000")
    assert available_cpus(tmp_path) == AFFINITY


def test_auto_inter_threads_is_one_batch_per_cpu_on_cpu_and_one_on_gpu() -> None:
    auto = EngineSettings()
    assert auto.inter_threads == 0
    assert auto.resolved(cuda_devices=0).inter_threads == available_cpus()
    assert auto.resolved(cuda_devices=0).device == "cpu"
    on_gpu = EngineSettings(device="auto").resolved(cuda_devices=1)
    assert (on_gpu.device, on_gpu.inter_threads) == ("cuda", 1)
    assert EngineSettings(inter_threads=3).resolved(cuda_devices=0).inter_threads == 3


def test_wide_threads_default_to_every_cpu_on_cpu_and_off_on_gpu() -> None:
    on_cpu = EngineSettings().resolved(cuda_devices=0)
    assert on_cpu.wide_threads == 0  # auto: calibrated when the pair loads
    assert on_cpu.wide_thread_count == (available_cpus() if available_cpus() > 1 else 0)
    assert EngineSettings(device="auto").resolved(cuda_devices=1).wide_thread_count == 0
    assert EngineSettings(wide_threads=1).resolved(cuda_devices=0).wide_thread_count == 0
    assert EngineSettings(intra_threads=4, wide_threads=4).resolved(0).wide_thread_count == 0
    assert EngineSettings(wide_threads=3).resolved(cuda_devices=0).wide_thread_count == 3


def test_negative_thread_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="inter_threads"):
        EngineSettings(inter_threads=-1)
    with pytest.raises(ValueError, match="wide_threads"):
        EngineSettings(wide_threads=-1)
