"""`make bench` keeps working: the harness runs end to end in its tiny smoke mode (demo model,
engine limit and the KServe predictor only, a few requests), prints the JSON summary as its
last stdout line and writes bench.json. No timing is asserted anywhere."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.processes import REPO_ROOT, venv_python

HEADLINE_KEYS = (
    "engine_ratio",
    "latency_ratio_c1",
    "vs_per_request",
    "vs_libretranslate",
    "transformer_cpu_ms_per_request",
    "transformer_overhead_p50_ms",
    "kafka_ratio",
    "kafka_eos_ratio",
    "cold_start_s",
)


def run_smoke(out_dir: Path) -> tuple[dict, dict]:
    completed = subprocess.run(
        [str(venv_python("dev")), "-m", "benchmarks", "--mode", "smoke",
         "--only", "engine,kserve", "--out", str(out_dir)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=400,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    last_line = completed.stdout.strip().splitlines()[-1]
    return json.loads(last_line), json.loads((out_dir / "bench.json").read_text())


def test_smoke_run_reports_every_headline_key(tmp_path: Path) -> None:
    headline, document = run_smoke(tmp_path / "bench")

    for key in HEADLINE_KEYS:
        assert key in headline, f"{key} missing from the summary line"
        if headline[key] is None:
            # Not measured in the smoke run: the reason must say why.
            assert headline["reasons"][key], key
    demo = document["models"]["demo"]
    assert demo["engine"]["sentences_per_s"] > 0
    assert demo["engine"]["best_batch_size"] in (8, 32)
    # The engine limit is the best of its thread layouts, the servers' own among them.
    layouts = demo["engine"]["sweep_by_threads"]
    best = demo["engine"]["best_threads"]
    assert f"{best['inter_threads']}x{best['intra_threads']}" in layouts
    assert demo["engine"]["measurements"][0]["sentences_per_s"] == max(
        rate for rates in layouts.values() for rate in rates.values()
    )
    # engine_ratio's limit: the best combination with at most 32 sentences in flight.
    top = demo["engine"]["at_top"]
    assert top["inter_threads"] * top["batch_size"] <= top["in_flight"] == 32
    assert top["sentences_per_s"] == max(
        rate for layout, rates in layouts.items() for size, rate in rates.items()
        if int(layout.split("x")[0]) * int(size) <= 32
    )
    assert demo["engine"]["measurements"][0]["sentences_per_s_at_top"] == top["sentences_per_s"]
    served = demo["kserve"]["served"]
    assert set(served) == {"kserve-v1-rest", "kserve-v2-rest", "kserve-v2-grpc"}
    for levels in served.values():
        for summary in levels.values():
            assert summary["errors"] == 0, summary["first_error"]
            assert summary["requests"] == summary["planned"]
            assert summary["p50_ms"] <= summary["p99_ms"]
    assert set(served["kserve-v1-rest"]) == {"1", "8", "32"}
    # Each path's c=32 run is compared with the engine measured right before and after it.
    for name, levels in served.items():
        limit = levels["32"]["engine_sentences_per_s_adjacent"]
        assert limit > 0, name
        assert headline["engine_ratio_demo_by_front_end"][name] == pytest.approx(
            levels["32"]["sentences_per_s"] / limit, abs=0.002)
    # The V1, V2 REST and gRPC paths translate the same sentences identically, and the demo
    # model gets its domain right.
    equal = demo["equal_outputs"]
    assert equal["kserve-v2-grpc"]["fraction"] == 1.0
    assert demo["reference_exact"] > 0.9
    assert headline["cold_start"]["kserve-predictor"]["ready_s"] > 0
    assert headline["engine_ratio_demo_by_front_end"]["kserve-v2-rest"] > 0
    # The engine's single-sentence latency is the floor the served c=1 latency is compared with.
    single = demo["engine"]["single_sentence"]
    assert single["p50_ms"] == min(single["p50_ms_by_threads"].values()) > 0
    assert headline["latency_ratio_c1_demo"] > 0
    # ... paired: each served c=1 request alternates with one engine call on that sentence.
    paired = demo["kserve"]["c1_paired"]["kserve-v1-rest"]
    assert paired["pairs"] == 3
    assert paired["ratio"] == pytest.approx(paired["served_p50_ms"] / paired["engine_p50_ms"],
                                            rel=0.01)
    assert headline["latency_ratio_c1_demo"] == paired["ratio"]
    assert set(headline["goals_met"]) == {*document["summary"]["goals"], "all"}
    assert headline["goals_met"]["all"] is False  # most goals are not measured in smoke mode
    assert (tmp_path / "bench" / "bench.png").stat().st_size > 10_000
    assert not (tmp_path / "bench" / "work").exists()
