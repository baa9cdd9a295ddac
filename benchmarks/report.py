"""Turn a run's measurements into the summary ratios, goals, a table, the JSON file and a plot."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

log = logging.getLogger("benchmarks.report")

TOP = "32"
ENGINE_FRONT_ENDS = ("kserve-v2-rest", "kserve-v2-grpc", "mlserver-v2-rest")
GOALS = {
    # key: (comparison, threshold, what)
    "engine_ratio": (">=", 0.9, "served sentences/s at c=32 / engine limit with 32 sentences "
                               "in flight (real size, worst front end)"),
    "latency_ratio_c1": ("<=", 1.1, "served p50 at c=1 / engine's best single-sentence latency "
                                    "(real size, worst front end)"),
    "vs_per_request": (">=", 3.0, "KServe at c=32 / served per-request baseline at c=32 "
                                  "(real size)"),
    "transformer_cpu_ms_per_request": ("<=", 0.5, "transformer process CPU ms per request, c=32"),
    "transformer_overhead_p50_ms": ("<=", 2.0, "p50 through the transformer - direct, c=1"),
    "transformer_throughput_ratio": (">=", 0.9, "through / direct sentences/s at c=32"),
    "kafka_ratio": (">=", 0.8, "Kafka messages/s / direct HTTP at the same concurrency"),
    "kafka_eos_ratio": (">=", 0.7, "Kafka exactly-once messages/s / at-least-once messages/s"),
    "cold_start_s": ("<=", 3.0, "process start -> ready, slowest image, demo model"),
}


def _get(data: dict, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 3)


def _served(model: dict, name: str, level: str = TOP) -> dict | None:
    for front_end in ("kserve", "mlserver"):
        found = _get(model, front_end, "served", name, level)
        if found is not None:
            return found
    return None


def _rate(summary: dict | None) -> float | None:
    if not summary or summary.get("errors"):
        return None
    return summary.get("sentences_per_s")


def engine_ratios(model: dict, unbounded: bool = False) -> dict[str, float | None]:
    """Served sentences/s at c=32 / the engine measured right before and after that path's c=32
    run (else just before and after its front end's runs; else the first measurement).

    At c=32 with one sentence per request at most 32 sentences are in flight, so the limit is
    the engine's best with at most 32 in flight (parallel batches x batch size). `unbounded`:
    its best with any number in flight instead (two batches of 32 on 2 CPUs), which c=32
    one-sentence callers cannot present."""
    if unbounded:
        first, adjacent = _get(model, "engine", "sentences_per_s"), "adjacent"
    else:
        first, adjacent = _get(model, "engine", "at_top", "sentences_per_s"), "adjacent_at_top"
    pairs = _get(model, "engine", adjacent) or {}
    ratios = {}
    for name in (*ENGINE_FRONT_ENDS, "kserve-v1-rest", "mlserver-v2-grpc"):
        served = _served(model, name)
        if served is None:
            continue
        # The path's own pair (engine right before and after its c=32 run), when measured.
        limit = None if unbounded else served.get("engine_sentences_per_s_adjacent")
        ratios[name] = _ratio(_rate(served), limit or pairs.get(name.split("-", 1)[0], first))
    return ratios


def latency_ratios_c1(model: dict) -> dict[str, float | None]:
    """Served p50 at c=1 / the engine's best single-sentence latency, per served path: from
    the paired run (engine call and served request alternating, `c1_paired`) where there is
    one; else the c=1 level against the mean of the engine measurements just before and after
    that front end's runs."""
    first = _get(model, "engine", "single_sentence", "p50_ms")
    adjacent = _get(model, "engine", "single_sentence_adjacent") or {}
    ratios = {}
    for front_end in ("kserve", "mlserver"):
        floor = adjacent.get(front_end, first)
        paired = _get(model, front_end, "c1_paired") or {}
        for name, levels in (_get(model, front_end, "served") or {}).items():
            if name in paired:
                ratios[name] = paired[name]["ratio"]
            elif "1" in levels and not levels["1"].get("errors"):
                ratios[name] = _ratio(levels["1"].get("p50_ms"), floor)
    return ratios


def server_cpu_ms(models: dict[str, dict]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Server CPU ms per request for every server path and level (the transformer's own for
    the transformer; the predictor's for the direct calls of its run)."""
    found: dict[str, dict[str, dict[str, float | None]]] = {}
    for model, data in models.items():
        paths: dict[str, dict[str, float | None]] = {}
        for front_end in ("kserve", "mlserver"):
            for name, levels in (_get(data, front_end, "served") or {}).items():
                paths[name] = _cpu_by_level(levels)
        for phase in ("per_request", "libretranslate"):
            if _get(data, phase, "levels"):
                paths[phase] = _cpu_by_level(data[phase]["levels"])
        for upstream, values in (_get(data, "transformer", "upstreams") or {}).items():
            if values.get("through"):
                paths[f"transformer-{upstream}-upstream"] = _cpu_by_level(values["through"])
        for phase in ("kafka", "mlserver_kafka"):
            cpu = _get(data, phase, "server_cpu_ms_per_message")
            if cpu is not None:
                paths[f"{phase}-path"] = {TOP: cpu}
        if paths:
            found[model] = paths
    return found


def _cpu_by_level(levels: dict) -> dict[str, float | None]:
    return {level: s.get("server_cpu_ms_per_request") for level, s in levels.items()}


def reference_path(model: dict) -> str:
    """The served path the baselines are compared with: KServe V1 REST (the same one-text JSON
    request as LibreTranslate's), or V2 REST when V1 was not measured."""
    return "kserve-v1-rest" if _served(model, "kserve-v1-rest") else "kserve-v2-rest"


def summarize(models: dict[str, dict], errors: dict[str, str]) -> dict[str, Any]:
    """The headline numbers (None with a reason when a part could not be measured)."""
    demo, big = models.get("demo", {}), models.get("argos_size", {})
    summary: dict[str, Any] = {}
    reasons: dict[str, str] = {}

    def worst(ratios: dict[str, float | None]) -> float | None:
        values = [ratios.get(name) for name in ENGINE_FRONT_ENDS]
        return None if any(v is None for v in values) else min(values)

    big_ratios, demo_ratios = engine_ratios(big), engine_ratios(demo)
    summary["engine_ratio"] = worst(big_ratios)
    summary["engine_ratio_by_front_end"] = big_ratios
    summary["engine_ratio_demo"] = worst(demo_ratios)
    summary["engine_ratio_demo_by_front_end"] = demo_ratios
    summary["engine_ratio_unbounded_by_front_end"] = engine_ratios(big, unbounded=True)
    summary["engine_ratio_unbounded"] = worst(summary["engine_ratio_unbounded_by_front_end"])

    summary["latency_ratio_c1_by_front_end"] = latency_ratios_c1(big)
    summary["latency_ratio_c1"] = _worst_latency(summary["latency_ratio_c1_by_front_end"])
    summary["latency_ratio_c1_demo"] = _worst_latency(latency_ratios_c1(demo))
    summary["engine_single_sentence_ms"] = min(
        (m["single_sentence_ms"] for m in _get(big, "engine", "measurements") or []
         if m.get("single_sentence_ms")),
        default=None,
    )
    # Baselines: the served per-request predictor (real size is the headline; on the demo
    # model every ratio measures HTTP stack cost, not the model's compute).
    summary["vs_per_request"] = _ratio(
        _rate(_served(big, reference_path(big))), _rate(_get(big, "per_request", "levels", TOP))
    )
    served_top = _rate(_served(demo, reference_path(demo)))
    summary["vs_per_request_demo"] = _ratio(
        served_top, _rate(_get(demo, "per_request", "levels", TOP))
    )
    summary["vs_libretranslate"] = _ratio(
        served_top, _rate(_get(demo, "libretranslate", "levels", TOP))
    )
    summary["baselines"] = {
        f"{phase} ({name})": _get(data, phase, "ran")
        for name, data in models.items()
        for phase in ("per_request", "libretranslate")
        if _get(data, phase, "ran")
    }
    equal = _get(demo, "equal_outputs") or {}
    summary["equal_outputs"] = {
        name: value["fraction"] for name, value in equal.items() if isinstance(value, dict)
    }

    for upstream, suffix in (("v2", ""), ("grpc-v2", "_grpc_upstream")):
        direct = _get(demo, "transformer", "upstreams", upstream, "direct")
        through = _get(demo, "transformer", "upstreams", upstream, "through")
        if not (direct and through):
            summary[f"transformer_overhead_p50_ms{suffix}"] = None
            summary[f"transformer_throughput_ratio{suffix}"] = None
            continue
        summary[f"transformer_overhead_p50_ms{suffix}"] = _diff(through, direct, "1", "p50_ms")
        summary[f"transformer_overhead_p99_ms{suffix}"] = _diff(through, direct, "1", "p99_ms")
        summary[f"transformer_overhead_p50_ms_c32{suffix}"] = _diff(through, direct, TOP, "p50_ms")
        summary[f"transformer_throughput_ratio{suffix}"] = _ratio(
            _rate(through.get(TOP)), _rate(direct.get(TOP))
        )

    through = _get(demo, "transformer", "upstreams", "v2", "through", TOP)
    summary["transformer_cpu_ms_per_request"] = (
        None if not through or through.get("errors") else through.get("server_cpu_ms_per_request")
    )
    # The same figure against the predictor's own CPU for the same requests sent to it directly
    # right before: this machine's speed drifts, this ratio much less.
    direct = _get(demo, "transformer", "upstreams", "v2", "direct", TOP)
    summary["transformer_cpu_vs_predictor"] = _ratio(
        summary["transformer_cpu_ms_per_request"],
        None if not direct or direct.get("errors") else direct.get("server_cpu_ms_per_request"),
    )
    summary["server_cpu_ms_per_request"] = server_cpu_ms(models)

    kafka = _get(demo, "kafka")
    summary["kafka_ratio"] = _ratio(
        _get(kafka, "kafka", "messages_per_s"), _get(kafka, "direct_http", "sentences_per_s")
    )
    scaling = _get(demo, "kafka_scaling")
    summary["kafka_eos_ratio"] = _ratio(
        _get(scaling, "exactly_once", "messages_per_s"),
        _get(scaling, "at_least_once", "messages_per_s"),
    )
    summary["kafka_consumers_messages_per_s"] = {
        members: run["messages_per_s"]
        for members, run in (_get(scaling, "consumers") or {}).items()
    }
    mlserver_kafka = _get(demo, "mlserver_kafka")
    summary["kafka_ratio_mlserver"] = _ratio(
        _get(mlserver_kafka, "kafka", "messages_per_s"),
        _get(mlserver_kafka, "direct_http", "sentences_per_s"),
    )

    cold = {
        "kserve-predictor": _get(demo, "kserve", "cold_start"),
        "mlserver": _get(demo, "mlserver", "cold_start"),
        "transformer": _get(demo, "transformer", "upstreams", "v2", "cold_start"),
        "libretranslate (reference)": _get(demo, "libretranslate", "cold_start"),
        "kserve-predictor, argos-size": _get(big, "kserve", "cold_start"),
        "mlserver, argos-size": _get(big, "mlserver", "cold_start"),
    }
    images = [cold[name] for name in ("kserve-predictor", "mlserver", "transformer")]
    summary["cold_start_s"] = (
        None if any(c is None for c in images) else max(c["ready_s"] for c in images)
    )
    summary["cold_start"] = {name: value for name, value in cold.items() if value is not None}
    summary["peak_rss_mb"] = peak_rss(models)

    for key in (*GOALS, "vs_per_request_demo", "vs_libretranslate", "kafka_ratio_mlserver"):
        if summary.get(key) is None:
            reasons[key] = _reason_for(key, errors)
    summary["goals"] = goals(summary)
    if reasons:
        summary["reasons"] = reasons
    return summary


def _worst_latency(ratios: dict[str, float | None]) -> float | None:
    values = list(ratios.values())
    return None if not values or any(v is None for v in values) else max(values)


def _diff(a: dict, b: dict, level: str, key: str) -> float | None:
    x, y = _get(a, level, key), _get(b, level, key)
    return None if x is None or y is None else round(x - y, 2)


_PHASES_FOR = {
    "engine_ratio": ("engine", "kserve", "mlserver"),
    "latency_ratio_c1": ("engine", "kserve", "mlserver"),
    "vs_per_request": ("per_request", "kserve"),
    "transformer_cpu_ms_per_request": ("transformer",),
    "transformer_throughput_ratio": ("transformer",),
    "transformer_cpu_vs_predictor": ("transformer",),
    "vs_per_request_demo": ("per_request", "kserve"),
    "vs_libretranslate": ("libretranslate", "kserve"),
    "transformer_overhead_p50_ms": ("transformer",),
    "kafka_ratio": ("kafka_broker", "kafka"),
    "kafka_eos_ratio": ("kafka_broker", "kafka_scaling"),
    "kafka_ratio_mlserver": ("kafka_broker", "mlserver_kafka"),
    "cold_start_s": ("kserve", "mlserver", "transformer"),
}


def _reason_for(key: str, errors: dict[str, str]) -> str:
    found = [
        f"{phase}: {message}"
        for phase, message in errors.items()
        if phase.split("/", 1)[1] in _PHASES_FOR.get(key, ())
    ]
    return "; ".join(found)[:600] if found else "not measured in this run (component not selected)"


def goals(summary: dict) -> dict[str, dict]:
    result = {}
    for key, (comparison, threshold, what) in GOALS.items():
        value = summary.get(key)
        met = None
        if value is not None:
            met = value >= threshold if comparison == ">=" else value <= threshold
        goal = f"{comparison} {threshold}"
        result[key] = {"value": value, "goal": goal, "met": met, "what": what}
    return result


def peak_rss(models: dict[str, dict]) -> dict[str, float]:
    found = {}
    for model, data in models.items():
        for phase in ("kserve", "mlserver", "libretranslate"):
            value = _get(data, phase, "peak_rss_mb")
            if value is not None:
                found[f"{phase} ({model})"] = value
        for upstream, values in (_get(data, "transformer", "upstreams") or {}).items():
            if values.get("peak_rss_mb") is not None:
                found[f"transformer, {upstream} upstream ({model})"] = values["peak_rss_mb"]
        value = _get(data, "kafka", "transformer_peak_rss_mb")
        if value is not None:
            found[f"transformer with Kafka ({model})"] = value
    return found


# --- table ----------------------------------------------------------------------------------


def rows(models: dict[str, dict]) -> list[tuple]:
    """(model, path, concurrency, sentences/s, p50, p99, errors, server CPU ms/request, the
    server's mean batch size) for every measured level."""
    table = []
    for model, data in models.items():
        engine = _get(data, "engine")
        if engine and "sentences_per_s" in engine:
            threads = engine.get("best_threads") or {}
            layout = (f", {threads['inter_threads']}x{threads['intra_threads']} threads"
                      if threads else "")
            table.append((model, f"engine limit (batch {engine['best_batch_size']}{layout})", "-",
                          engine["sentences_per_s"], None, None, 0, None, None))
            top = engine.get("at_top")
            if top:
                label = (f"engine, {top['in_flight']} in flight ({top['inter_threads']}x"
                         f"{top['batch_size']}, {top['intra_threads']} thr)")
                table.append((model, label, TOP, top["sentences_per_s"], None, None, 0, None,
                              None))
        for front_end in ("kserve", "mlserver"):
            for name, levels in (_get(data, front_end, "served") or {}).items():
                table += [_row(model, name, level, s) for level, s in levels.items()]
        per_request = _get(data, "per_request")
        if per_request and "levels" in per_request:
            label = f"served per request ({per_request['ran']['backend']})"
            table += [_row(model, label, lv, s) for lv, s in per_request["levels"].items()]
        for level, s in (_get(data, "libretranslate", "levels") or {}).items():
            table.append(_row(model, "LibreTranslate", level, s))
        for upstream, values in (_get(data, "transformer", "upstreams") or {}).items():
            for side in ("direct", "through"):
                for level, s in (values.get(side) or {}).items():
                    label = f"transformer ({upstream} upstream)" if side == "through" else (
                        f"  direct, same run ({upstream})")
                    table.append(_row(model, label, level, s))
        for phase, label in (("kafka", "transformer Kafka"), ("mlserver_kafka", "MLServer Kafka")):
            run = _get(data, phase, "kafka")
            if run:
                table.append((model, label, TOP, run["messages_per_s"], None, None,
                              run["messages"] - run["received"], None, None))
                direct = _get(data, phase, "direct_http")
                table.append(_row(model, f"{label}: direct HTTP", TOP, direct))
        scaling = _get(data, "kafka_scaling") or {}
        runs = [(f"Kafka {members} consumer(s), at least once", run)
                for members, run in (scaling.get("consumers") or {}).items()]
        if scaling.get("exactly_once"):
            runs.append(("Kafka 1 consumer, exactly once", scaling["exactly_once"]))
        for label, run in runs:
            table.append((model, label, TOP, run["messages_per_s"], None, None,
                          run["messages"] - run["received"], None, None))
    return table


def _row(model: str, label: str, level: str, summary: dict) -> tuple:
    return (model, label, level, summary["sentences_per_s"], summary["p50_ms"],
            summary["p99_ms"], summary["errors"], summary.get("server_cpu_ms_per_request"),
            summary.get("batch_sentences_mean"))


def format_table(models: dict[str, dict]) -> str:
    header = ("model", "path", "c", "sent/s", "p50 ms", "p99 ms", "err", "cpu ms/req", "batch")
    lines = [f"{header[0]:<11} {header[1]:<34} {header[2]:>3} {header[3]:>9} "
             f"{header[4]:>9} {header[5]:>9} {header[6]:>4} {header[7]:>10} {header[8]:>6}"]
    for model, label, level, rate, p50, p99, errors, cpu, batch in rows(models):
        lines.append(
            f"{model:<11} {label[:34]:<34} {level:>3} {rate:>9.1f} {_fmt(p50):>9} "
            f"{_fmt(p99):>9} {errors:>4} {_fmt(cpu):>10} {_fmt(batch):>6}"
        )
    return "\n".join(lines)


def format_goals(summary: dict) -> str:
    lines = []
    for key, goal in summary["goals"].items():
        state = {True: "met", False: "MISSED", None: "not measured"}[goal["met"]]
        lines.append(f"  {key:<30} {goal['value']!s:>10}  goal {goal['goal']:<8} {state}")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


# --- files ----------------------------------------------------------------------------------


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")


BASELINE_PHASES = {"per_request": "served per request", "libretranslate": "LibreTranslate"}
MODEL_TITLES = {"argos_size": "real-size model", "demo": "demo model (HTTP stack cost)"}


def plot(models: dict[str, dict], path: Path) -> None:
    """Throughput and p50 latency vs concurrency, the real-size model first: served paths as
    solid lines, baselines dashed, the engine limit (throughput) and the engine's best
    single-sentence latency (latency) as dotted horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [m for m in ("argos_size", "demo") if m in models]
    figure, axes = plt.subplots(len(names), 2, figsize=(13, 4.6 * len(names)), squeeze=False)
    for row, model in enumerate(names):
        data = models[model]
        throughput_axis, latency_axis = axes[row]
        for index, (label, (points, baseline)) in enumerate(_series(data).items()):
            levels = [int(level) for level in points]
            style = {"color": f"C{index % 10}", "marker": "s" if baseline else "o",
                     "linestyle": "--" if baseline else "-", "label": label}
            throughput_axis.plot(levels, [p["sentences_per_s"] for p in points.values()],
                                 **style)
            latency_axis.plot(levels, [p["p50_ms"] for p in points.values()], **style)
        limit = _get(data, "engine", "sentences_per_s")
        if limit:
            throughput_axis.axhline(limit, color="black", linestyle=":", label="engine limit")
        at_top = _get(data, "engine", "at_top", "sentences_per_s")
        if at_top:
            throughput_axis.axhline(at_top, color="grey", linestyle=":",
                                    label=f"engine limit, {TOP} sentences in flight")
        floor = _get(data, "engine", "single_sentence", "p50_ms")
        if floor:
            latency_axis.axhline(floor, color="black", linestyle=":",
                                 label="engine, one sentence (best threads)")
        title = MODEL_TITLES.get(model, model)
        for axis in (throughput_axis, latency_axis):
            axis.set_xscale("log", base=2)
            axis.set_xticks([1, 8, 32], ["1", "8", "32"])
            axis.set_xlabel("concurrent requests (1 sentence each)")
            axis.grid(True, alpha=0.3)
            axis.legend(fontsize=7, loc="best")
        throughput_axis.set_ylabel("sentences/s")
        throughput_axis.set_title(f"{title}: throughput")
        latency_axis.set_yscale("log")
        latency_axis.set_ylabel("p50 latency, ms")
        latency_axis.set_title(f"{title}: p50 latency")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _series(data: dict) -> dict[str, tuple[dict[str, dict], bool]]:
    """label -> (levels, is a baseline)."""
    series: dict[str, tuple[dict[str, dict], bool]] = {}
    for front_end in ("kserve", "mlserver"):
        for name, levels in (_get(data, front_end, "served") or {}).items():
            series[name] = (levels, False)  # a path measured at c=32 only is one marker
    for upstream, values in (_get(data, "transformer", "upstreams") or {}).items():
        if values.get("through"):
            series[f"transformer ({upstream} upstream)"] = (values["through"], False)
    for phase, label in BASELINE_PHASES.items():
        if _get(data, phase, "levels"):
            series[f"baseline: {label}"] = (data[phase]["levels"], True)
    return {
        label: ({lv: p for lv, p in points.items() if p.get("p50_ms") is not None}, baseline)
        for label, (points, baseline) in series.items()
    }
