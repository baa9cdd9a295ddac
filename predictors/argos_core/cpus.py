"""How many CPUs this process may use: the container's CPU limit, not the node's core count.

In a Kubernetes pod `os.cpu_count()` is the node's cores; the pod's `resources.limits.cpu` is
a CFS quota in the cgroup (v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def available_cpus(cgroup_root: Path = CGROUP_ROOT) -> int:
    """The smaller of the CPU quota (rounded up) and the CPUs in this process's affinity mask."""
    cpus = _affinity_cpus()
    quota = cgroup_cpu_quota(cgroup_root)
    if quota is not None:
        cpus = min(cpus, max(1, math.ceil(quota)))
    return cpus


def cgroup_cpu_quota(cgroup_root: Path = CGROUP_ROOT) -> float | None:
    """CPUs allowed by the CFS quota, or None when there is none (or no cgroup to read)."""
    v2 = _read(cgroup_root / "cpu.max")
    if v2 is not None:
        quota, _, period = v2.partition(" ")
        return _ratio(quota, period or "100000")
    v1 = _read(cgroup_root / "cpu" / "cpu.cfs_quota_us") or _read(
        cgroup_root / "cpu,cpuacct" / "cpu.cfs_quota_us"
    )
    if v1 is not None:
        period = _read(cgroup_root / "cpu" / "cpu.cfs_period_us") or _read(
            cgroup_root / "cpu,cpuacct" / "cpu.cfs_period_us"
        )
        return _ratio(v1, period or "100000")
    return None


def _ratio(quota: str, period: str) -> float | None:
    try:
        quota_us, period_us = int(quota), int(period)
    except ValueError:  # "max": no limit
        return None
    if quota_us <= 0 or period_us <= 0:  # v1 writes -1 for no limit
        return None
    return quota_us / period_us


def _affinity_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None
