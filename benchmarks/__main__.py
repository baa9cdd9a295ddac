"""`python -m benchmarks [--mode quick|full|smoke] [--out DIR] [--only a,b] [--plot PNG]`.

Prints progress on stderr, then the table and goals on stdout; the LAST stdout line is one JSON
object with the headline ratios (full details in OUT/bench.json).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import os
import platform
import shutil
import sys
import time
from pathlib import Path

from benchmarks import report
from benchmarks.run_context import Run
from benchmarks.runner import run_model
from benchmarks.settings import COMPONENTS, build_settings

DETAIL_KEYS = ("goals", "server_cpu_ms_per_request", "baselines")


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--mode", default=os.environ.get("BENCH_MODE", "quick"),
                        choices=("quick", "full", "smoke"))
    parser.add_argument("--out", type=Path, default=None, help="results folder (bench-results)")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {COMPONENTS}")
    parser.add_argument("--engine", default="",
                        help="engine flags for the predictors and the engine limit, "
                             "e.g. intra_threads=1,inter_threads=2")
    parser.add_argument("--plot", type=Path, default=None,
                        help="also copy the plot here (make bench: docs/bench.png)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for noisy in ("httpx", "kafka", "aiokafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    only = tuple(part for part in args.only.split(",") if part) or None
    settings = build_settings(args.mode, args.out, only)
    if args.engine:
        overrides = dict(part.split("=", 1) for part in args.engine.split(",") if part)
        settings = dataclasses.replace(settings, engine_overrides=overrides)
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    info = {
        "mode": settings.mode,
        "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "components": list(settings.components),
        "engine_overrides": settings.engine_overrides,
    }
    run = Run(settings)
    for model in settings.models:
        run_model(run, model)
    info["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    info["duration_s"] = round(time.monotonic() - started, 1)
    summary = report.summarize(run.models, run.errors)
    document = {**info, "summary": summary, "models": run.models, "errors": run.errors,
                "phase_seconds": run.timings}
    json_path = settings.out_dir / "bench.json"
    report.write_json(json_path, document)
    plot_path = settings.out_dir / "bench.png"
    try:
        report.plot(run.models, plot_path)
        if args.plot:
            args.plot.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(plot_path, args.plot)
    except Exception as exc:  # the numbers matter more than the picture
        logging.getLogger("benchmarks").error("event=plot_failed error=%r", exc)
        plot_path = None
    shutil.rmtree(settings.work_dir, ignore_errors=True)

    print(report.format_table(run.models))
    print(f"\ngoals (mode={settings.mode}, {info['duration_s']} s, "
          f"load average {info['machine']['load_average_at_start']} -> "
          f"{info['machine']['load_average_at_end']}):")
    print(report.format_goals(summary))
    print(f"\ndetails: {json_path}" + (f"  plot: {plot_path}" if plot_path else ""))
    # The long per-path details (CPU per level, what each baseline ran) stay in bench.json.
    headline = {key: value for key, value in summary.items() if key not in DETAIL_KEYS}
    headline["goals_met"] = {key: goal["met"] for key, goal in summary["goals"].items()}
    headline["goals_met"]["all"] = all(met is True for met in headline["goals_met"].values())
    headline["mode"] = settings.mode
    headline["duration_s"] = info["duration_s"]
    print(json.dumps(headline, separators=(",", ":"), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
