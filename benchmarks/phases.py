"""The measurements of one run, each a function of the running servers it needs.

Every measuring function fills the dict of its `run.phase(...)`; an exception there is caught
by the phase (reported with its reason) and the run goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import statistics
import subprocess
import time
from collections.abc import Callable, Iterator

from argos_core.cpus import available_cpus
from benchmarks import kafka_path, servers, targets
from benchmarks.argos_install import argos_environment
from benchmarks.loadgen import Call, LoadResult, run_load, run_paired, warm_up
from benchmarks.run_context import Run
from benchmarks.settings import CONCURRENCY, REPO_ROOT, BenchSettings, ModelLoad
from benchmarks.workload import Workload
from harness.kafka import KafkaBroker
from harness.processes import venv_python

log = logging.getLogger("benchmarks.phases")

TOP = max(CONCURRENCY)
CpuProbe = Callable[[], float | None]
BatchProbe = Callable[[], tuple[float, float] | None]
Outputs = dict[str, dict[int, str]]


def summaries(results: dict[str, LoadResult]) -> dict[str, dict]:
    return {level: result.summary() for level, result in results.items()}


def level_plan(load: ModelLoad, protocol: str) -> list[int]:
    return list(CONCURRENCY) if protocol in load.full_levels else [TOP]


async def measure_target(
    call: Call, levels: list[int], load: ModelLoad, time_cap_s: float, server_cpu: CpuProbe,
    batches: BatchProbe | None = None, engine_now: Callable[[], float] | None = None,
) -> dict[str, LoadResult]:
    """Warm up, then one bounded run per concurrency level (same sentences at every level);
    with `batches`, each level also records the server's mean batch size; with `engine_now`,
    the top level records the engine limit measured right before and right after it."""
    await warm_up(call, load.warmup, max(levels), first_index=10_000)
    results = {}
    for concurrency in levels:
        paired = engine_now is not None and concurrency == TOP
        engine_before = engine_now() if paired else None
        before = batches() if batches else None
        result = await run_load(
            "", call, requests=load.requests[concurrency], concurrency=concurrency,
            time_cap_s=time_cap_s, server_cpu=server_cpu,
        )
        after = batches() if batches else None
        if before and after and after[1] > before[1]:
            result.batch_sentences_mean = (after[0] - before[0]) / (after[1] - before[1])
        if paired:
            result.engine_adjacent = (engine_before + engine_now()) / 2
        results[str(concurrency)] = result
    return results


# --- engine limit ---------------------------------------------------------------------------


def _engine_job(run: Run, model: str, sentences: list[str]) -> dict:
    """What every engine measurement shares: the model, the sentences, the servers' decoding
    options."""
    engine = run.engine_settings(model)
    return {
        "model_dir": str(run.package_file(model).parent),
        "sentences": sentences,
        "beam_size": run.settings.beam_size,
        "max_decoding_length": run.max_decoding_length(model),
        "compute_type": str(engine.get("compute_type", "default")),
        "max_batch_tokens": int(engine.get("max_batch_tokens", 4096)),
    }


def engine_limit(
    run: Run, model: str, workload: Workload, batch_sizes: list[int],
    thread_layouts: list[tuple[int, int]] | None = None, latency_sentences: int = 0,
) -> dict:
    load = run.settings.load[model]
    job = {
        **_engine_job(run, model, list(workload.sentences[: load.engine_sentences])),
        "batch_sizes": batch_sizes,
        "thread_layouts": thread_layouts or run.thread_layouts(model),
        "min_seconds": load.engine_min_seconds,
        "latency_sentences": latency_sentences,
        # One sentence on every CPU, and on one thread (better when other work holds a core).
        "latency_layouts": list(dict.fromkeys([(1, available_cpus()), (1, 1)])),
    }
    return run.subprocess_json("kserve", "benchmarks.engine_limit", job)


def engine_phase(run: Run, model: str, workload: Workload) -> None:
    with run.phase(model, "engine") as data:
        sizes = list(run.settings.load[model].engine_batch_sizes)
        data.update(engine_limit(run, model, workload, sizes,
                                 latency_sentences=_latency_sentences(run, model)))
        data["at_top"] = best_within(data["sweep_by_threads"], TOP)
        data["measurements"] = [{
            "after": "start", "sentences_per_s": data["sentences_per_s"],
            "sentences_per_s_at_top": data["at_top"]["sentences_per_s"],
            "single_sentence_ms": data["single_sentence"]["p50_ms"],
        }]


def best_within(sweep_by_threads: dict[str, dict[str, float]], in_flight: int) -> dict:
    """The engine's best combination keeping at most `in_flight` sentences in flight (parallel
    batches x batch size): what a server can reach at best when its callers hold `in_flight`
    one-sentence requests. The sweep always has one (its batch sizes start small)."""
    layout, size = max(
        ((layout, size) for layout, rates in sweep_by_threads.items() for size in rates
         if int(layout.split("x")[0]) * int(size) <= in_flight),
        key=lambda pair: sweep_by_threads[pair[0]][pair[1]],
    )
    inter_threads, intra_threads = map(int, layout.split("x"))
    return {"sentences_per_s": sweep_by_threads[layout][size], "batch_size": int(size),
            "inter_threads": inter_threads, "intra_threads": intra_threads,
            "in_flight": in_flight}


def _latency_sentences(run: Run, model: str) -> int:
    """The sentences a served run at concurrency 1 sends (indices 0..n-1)."""
    return run.settings.load[model].requests[1]


def engine_recheck(run: Run, model: str, workload: Workload, after: str) -> None:
    """The best batch size and the single-sentence latency again, right after a front end's
    served runs.

    The machine is shared, so its speed drifts: each front end is compared with the mean of
    the engine measurements just before and just after its runs (`adjacent`,
    `single_sentence_adjacent`), and the reported limit is the best measurement.
    """
    engine = run.models.get(model, {}).get("engine", {})
    if "best_batch_size" not in engine:
        return
    with run.phase(model, f"engine_after_{after}"):
        best, top = engine["best_threads"], engine["at_top"]
        layouts = [(best["inter_threads"], best["intra_threads"]),
                   (top["inter_threads"], top["intra_threads"])]
        again = engine_limit(
            run, model, workload, sorted({engine["best_batch_size"], top["batch_size"]}),
            list(dict.fromkeys(layouts)), latency_sentences=_latency_sentences(run, model),
        )
        rates = again["sweep_by_threads"]

        def rate(inter: int, intra: int, size: int) -> float:
            return rates[f"{inter}x{intra}"][str(size)]

        previous = engine["measurements"][-1]
        latest = {
            "after": after,
            "sentences_per_s": rate(best["inter_threads"], best["intra_threads"],
                                    engine["best_batch_size"]),
            "sentences_per_s_at_top": rate(top["inter_threads"], top["intra_threads"],
                                           top["batch_size"]),
            "single_sentence_ms": again["single_sentence"]["p50_ms"],
        }
        engine["measurements"].append(latest)
        engine["sentences_per_s"] = max(m["sentences_per_s"] for m in engine["measurements"])
        for key, adjacent in (("sentences_per_s", "adjacent"),
                              ("sentences_per_s_at_top", "adjacent_at_top"),
                              ("single_sentence_ms", "single_sentence_adjacent")):
            engine.setdefault(adjacent, {})[after] = round((previous[key] + latest[key]) / 2, 2)


class EngineProcess:
    """The engine kept loaded beside a front end's runs (`benchmarks.engine_limit --serve`, in
    the KServe image environment), for measurements paired with served ones: the machine's
    speed drifts by a third within a run, so a served level is compared with the engine
    measured right before and right after it, not minutes away."""

    def __init__(self, run: Run, model: str, workload: Workload, engine: dict) -> None:
        load = run.settings.load[model]
        self.at_top = engine["at_top"]
        self.single_layout = [int(n) for n in engine["single_sentence"]["best_threads"].split("x")]
        self.min_seconds = load.engine_min_seconds
        count = max(load.engine_sentences, _latency_sentences(run, model))
        self._job_file = run.settings.work_dir / f"engine-serve-{time.monotonic_ns()}.json"
        self._job_file.parent.mkdir(parents=True, exist_ok=True)
        top_layout = [self.at_top["inter_threads"], self.at_top["intra_threads"]]
        self._job_file.write_text(json.dumps({
            **_engine_job(run, model, [workload.text(i) for i in range(count)]),
            "preload": [top_layout, self.single_layout],
        }))
        self._process = subprocess.Popen(
            [str(venv_python("kserve")), "-m", "benchmarks.engine_limit", "--serve",
             str(self._job_file)],
            cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        if self._process.stdout.readline().strip() != "ready":
            self.close()
            raise RuntimeError("the engine process (benchmarks.engine_limit --serve) failed")

    def _ask(self, command: dict) -> dict:
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        return json.loads(self._process.stdout.readline())

    def single_ms(self, index: int) -> float:
        return self._ask({"single": index, "layout": self.single_layout})["ms"]

    def rate_at_top(self) -> float:
        """Sentences/s of the engine's best combination with at most TOP in flight, now."""
        top = self.at_top
        return self._ask({"rate": [top["inter_threads"], top["intra_threads"],
                                   top["batch_size"]], "seconds": self.min_seconds})[
            "sentences_per_s"]

    def close(self) -> None:
        if self._process.stdin and not self._process.stdin.closed:
            self._process.stdin.close()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._job_file.unlink(missing_ok=True)


@contextlib.contextmanager
def engine_process(run: Run, model: str, workload: Workload) -> Iterator[EngineProcess | None]:
    """An EngineProcess when the engine phase measured this model, else None (also when it
    cannot start: the served runs are then measured unpaired, and the log says why)."""
    engine = run.models.get(model, {}).get("engine", {})
    if not run.settings.wants("engine") or "at_top" not in engine:
        yield None
        return
    try:
        process = EngineProcess(run, model, workload, engine)
    except (OSError, RuntimeError) as exc:
        log.warning("event=engine_process_failed model=%s error=%r", model, exc)
        yield None
        return
    try:
        yield process
    finally:
        process.close()


def paired_latency_c1(
    run: Run, model: str, front_end: str, launched: servers.Launched, workload: Workload,
    engine: EngineProcess | None,
) -> dict:
    """Concurrency 1, paired: for each sentence a served run at c=1 sends, one engine call
    (the best single-sentence layout) and one served request, alternating, so both see the
    same moment of the machine. Per served path with a c=1 level: the two medians and their
    ratio, `latency_ratio_c1`'s value."""
    if engine is None:
        return {}
    load = run.settings.load[model]
    paths = [name for name in load.protocols
             if name.startswith(f"{front_end}-") and 1 in level_plan(load, name)]
    count = _latency_sentences(run, model)
    return {
        name: asyncio.run(_paired_with_engine(launched, name.removeprefix(f"{front_end}-"),
                                              workload, count, engine.single_ms))
        for name in paths
    }


async def _paired_with_engine(
    launched: servers.Launched, protocol: str, workload: Workload, count: int,
    engine_call: Callable[[int], float],
) -> dict:
    async def pairs(call: Call) -> dict:
        await call(0)  # the connection is set up before anything is timed
        engine_ms, served_ms = [], []
        for index in range(count):
            engine_ms.append(engine_call(index))
            sent = time.perf_counter()
            await call(index)
            served_ms.append((time.perf_counter() - sent) * 1000)
        engine_p50, served_p50 = statistics.median(engine_ms), statistics.median(served_ms)
        return {"pairs": count, "engine_p50_ms": round(engine_p50, 2),
                "served_p50_ms": round(served_p50, 2), "ratio": round(served_p50 / engine_p50, 3)}

    if protocol == "v2-grpc":
        async with targets.v2_grpc(launched.endpoint, workload) as call:
            return await pairs(call)
    async with targets.http_client(1) as client:
        factory = targets.v1_rest if protocol == "v1-rest" else targets.v2_rest
        return await pairs(factory(client, launched.endpoint, workload))


# --- served front ends ----------------------------------------------------------------------


def served_protocols(
    run: Run, model: str, front_end: str, launched: servers.Launched, workload: Workload,
    outputs: Outputs, engine: EngineProcess | None = None,
) -> dict:
    settings, load = run.settings, run.settings.load[model]
    served = {}
    for name in load.protocols:
        if not name.startswith(f"{front_end}-"):
            continue
        protocol = name.removeprefix(f"{front_end}-")
        results = asyncio.run(
            _served(launched, protocol, workload, level_plan(load, name), load,
                    settings.level_time_cap_s, engine.rate_at_top if engine else None)
        )
        served[name] = summaries(results)
        if str(TOP) in results:
            outputs[name] = results[str(TOP)].outputs
    return served


async def _served(
    launched: servers.Launched,
    protocol: str,
    workload: Workload,
    levels: list[int],
    load: ModelLoad,
    time_cap_s: float,
    engine_now: Callable[[], float] | None,
) -> dict[str, LoadResult]:
    endpoint, cpu, batches = launched.endpoint, launched.cpu_seconds, launched.batch_totals
    if protocol == "v2-grpc":
        async with targets.v2_grpc(endpoint, workload) as call:
            return await measure_target(call, levels, load, time_cap_s, cpu, batches,
                                        engine_now)
    async with targets.http_client(max(levels)) as client:
        factory = targets.v1_rest if protocol == "v1-rest" else targets.v2_rest
        call = factory(client, endpoint, workload)
        return await measure_target(call, levels, load, time_cap_s, cpu, batches, engine_now)


# --- per-request baselines ------------------------------------------------------------------


BASELINE_CALLS = {
    "argostranslate": "argostranslate.translate.translate(text, 'en', 'es')",
    "ctranslate2": "ctranslate2 translate_batch([sentence]) with the servers' decoding cap",
}
SPLITTER = "spaCy rule-based sentencizer (ARGOS_CHUNK_TYPE=SPACY, blank pipeline in the package)"


def baseline_threads(env: dict[str, str]) -> dict[str, str]:
    return {key: env[key] for key in ("ARGOS_INTER_THREADS", "ARGOS_INTRA_THREADS",
                                      "OMP_NUM_THREADS")}


def per_request_phase(run: Run, model: str, workload: Workload, outputs: Outputs) -> None:
    """The served per-request baseline (benchmarks/per_request.py), V1 REST like KServe's."""
    settings, load = run.settings, run.settings.load[model]
    backend = "argostranslate" if model == "demo" else "ctranslate2"
    with run.phase(model, "per_request") as data:
        root = settings.work_dir / f"argos-{model}-{time.monotonic_ns()}"
        job_file = root / "job.json"
        job_file.parent.mkdir(parents=True, exist_ok=True)
        job_file.write_text(json.dumps({
            "backend": backend,
            "package": str(run.package_file(model)),
            "beam_size": settings.beam_size,
            "max_decoding_length": run.max_decoding_length(model),
        }))
        env = argos_environment(root, settings.beam_size, available_cpus())
        data["ran"] = {
            "server": "KServe ModelServer, one translation call per text, calls in a thread pool",
            "backend": backend,
            "call": BASELINE_CALLS[backend],
            "sentence_splitter": SPLITTER if backend == "argostranslate" else "none",
            "threads": baseline_threads(env),
            "beam_size": settings.beam_size,
            "versions": servers.package_versions(
                "dev", ("kserve", "argostranslate", "ctranslate2", "spacy")
            ),
        }
        launched = servers.start_per_request(settings.log_dir, job_file, env)
        launched.scratch.append(root)
        with servers.stopping(launched):
            data["cold_start"] = launched.cold_start()
            results = asyncio.run(_per_request_served(launched, workload, load, settings))
            data["levels"] = summaries(results)
            outputs[f"per-request-{backend}"] = results[str(TOP)].outputs
            data["peak_rss_mb"] = launched.peak_rss_mb()


async def _per_request_served(
    launched: servers.Launched, workload: Workload, load: ModelLoad, settings: BenchSettings
) -> dict[str, LoadResult]:
    async with targets.http_client(TOP) as client:
        call = targets.v1_rest(client, launched.endpoint, workload)
        return await _baseline_levels(call, launched, load, settings)


async def _baseline_levels(
    call: Call, launched: servers.Launched, load: ModelLoad, settings: BenchSettings
) -> dict[str, LoadResult]:
    """Warm up, then every concurrency level (`per_request_requests` each)."""
    await warm_up(call, min(load.warmup, 8), TOP, first_index=10_000)
    results = {}
    for concurrency in CONCURRENCY:
        results[str(concurrency)] = await run_load(
            "", call, requests=load.per_request_requests[concurrency],
            concurrency=concurrency, time_cap_s=settings.level_time_cap_s,
            server_cpu=launched.cpu_seconds,
        )
    return results


LIBRETRANSLATE_THREADS = 4  # its default waitress threads


def libretranslate_phase(run: Run, model: str, workload: Workload, outputs: Outputs) -> None:
    settings = run.settings
    with run.phase(model, "libretranslate") as data:
        root = settings.work_dir / f"libretranslate-{time.monotonic_ns()}"
        env = argos_environment(root, settings.beam_size, available_cpus())
        subprocess.run(
            [str(venv_python("libretranslate")), "-m", "benchmarks.argos_install",
             str(run.package_file(model)), "--second-pair"],
            cwd=REPO_ROOT, env={**os.environ, **env}, check=True, capture_output=True,
            text=True, timeout=300,
        )
        data["ran"] = {
            "server": f"libretranslate --load-only en,es ({LIBRETRANSLATE_THREADS} threads)",
            "sentence_splitter": SPLITTER,
            "threads": baseline_threads(env),
            "beam_size": settings.beam_size,
            "versions": servers.package_versions(
                "libretranslate",
                ("libretranslate", "argos-translate-lt", "ctranslate2", "spacy", "waitress"),
            ),
        }
        data["threads"] = LIBRETRANSLATE_THREADS
        launched = servers.start_libretranslate(settings.log_dir, env)
        launched.scratch.append(root)
        with servers.stopping(launched):
            data["cold_start"] = launched.cold_start()
            load = settings.load[model]
            results = asyncio.run(_libretranslate(launched, workload, load, settings))
            data["levels"] = summaries(results)
            outputs["libretranslate"] = results[str(TOP)].outputs
            data["peak_rss_mb"] = launched.peak_rss_mb()


async def _libretranslate(
    launched: servers.Launched, workload: Workload, load: ModelLoad, settings: BenchSettings
) -> dict[str, LoadResult]:
    async with targets.http_client(TOP) as client:
        call = targets.libretranslate(client, launched.endpoint, workload)
        return await _baseline_levels(call, launched, load, settings)


# --- transformer ----------------------------------------------------------------------------


def transformer_phase(
    run: Run, model: str, workload: Workload, predictor: servers.Launched
) -> None:
    """Direct to the predictor vs through the transformer, back to back at each level, for
    each predictor protocol measured (clients send V1 either way)."""
    settings, load = run.settings, run.settings.load[model]
    with run.phase(model, "transformer") as data:
        data["upstreams"] = {}
        for protocol in settings.transformer_upstreams:
            upstream = data["upstreams"][protocol] = {}
            transformer = servers.start_transformer(settings.log_dir, predictor.endpoint, protocol)
            try:
                upstream["cold_start"] = transformer.cold_start()
                direct, through = asyncio.run(
                    _transformer(predictor, transformer, workload, load, settings)
                )
                upstream["direct"], upstream["through"] = summaries(direct), summaries(through)
                upstream["peak_rss_mb"] = transformer.peak_rss_mb()
            finally:
                transformer.stop()


async def _transformer(
    predictor: servers.Launched,
    transformer: servers.Launched,
    workload: Workload,
    load: ModelLoad,
    settings: BenchSettings,
) -> tuple[dict[str, LoadResult], dict[str, LoadResult]]:
    """Server CPU: the predictor's for direct calls, the transformer's own for the others."""
    async with targets.http_client(TOP) as client:
        direct_call = targets.v1_rest(client, predictor.endpoint, workload)
        through_call = targets.v1_rest(client, transformer.endpoint, workload)
        await warm_up(direct_call, load.warmup, TOP, first_index=10_000)
        await warm_up(through_call, load.warmup, TOP, first_index=10_000)
        direct: dict[str, LoadResult] = {}
        through: dict[str, LoadResult] = {}
        paths = (
            (direct, direct_call, predictor.cpu_seconds),
            (through, through_call, transformer.cpu_seconds),
        )
        # Concurrency 1 (the latency overhead) alternates request by request.
        paired = await run_paired(
            {"direct": direct_call, "through": through_call}, requests=load.requests[1],
            time_cap_s=settings.level_time_cap_s,
        )
        direct["1"], through["1"] = paired["direct"], paired["through"]
        for concurrency in CONCURRENCY[1:]:
            for results, call, cpu in paths:
                results[str(concurrency)] = await run_load(
                    "", call, requests=load.requests[concurrency], concurrency=concurrency,
                    time_cap_s=settings.level_time_cap_s, server_cpu=cpu,
                )
        return direct, through


# --- Kafka ----------------------------------------------------------------------------------


def kafka_transformer_phase(
    run: Run,
    model: str,
    workload: Workload,
    predictor: servers.Launched,
    broker: KafkaBroker,
    outputs: Outputs,
) -> None:
    settings = run.settings
    with run.phase(model, "kafka") as data:
        topics = kafka_path.Topics.fresh("bench")
        broker.create_topics(topics.input, topics.output, topics.dlq)
        protocol = settings.transformer_upstreams[0]
        flags = kafka_path.transformer_flags(broker, topics, max_in_flight=TOP)
        transformer = servers.start_transformer(settings.log_dir, predictor.endpoint, protocol,
                                                flags)
        try:
            cpu_before = transformer.cpu_seconds()
            kafka = kafka_path.measure(
                broker, topics, workload, settings.kafka_messages, settings.kafka_time_cap_s,
                kafka_path.encode_transformer, kafka_path.decode_transformer,
            )
            cpu_after = transformer.cpu_seconds()
            if cpu_before is not None and cpu_after is not None and kafka.received:
                data["server_cpu_ms_per_message"] = round(
                    (cpu_after - cpu_before) * 1000 / kafka.received, 2
                )
            direct = asyncio.run(_direct_http(predictor, workload, settings, "v1-rest"))
            data.update(
                max_in_flight=TOP, predictor_protocol=protocol, kafka=kafka.summary(),
                direct_http=direct.summary(), transformer_peak_rss_mb=transformer.peak_rss_mb(),
            )
            outputs["kafka-transformer"] = kafka.outputs
        finally:
            transformer.stop()


KAFKA_PARTITIONS = 6


def kafka_guarantees_phase(
    run: Run, model: str, workload: Workload, predictor: servers.Launched, broker: KafkaBroker,
) -> None:
    """Exactly once / at least once with one consumer, and (full mode) 2 and 3 consumers (at
    least once) against the one predictor, on a 6-partition topic; outputs read read_committed."""
    settings = run.settings
    with run.phase(model, "kafka_scaling") as data:
        protocol = settings.transformer_upstreams[0]

        def measure(members: int, guarantee: str) -> dict:
            topics = kafka_path.Topics.fresh(f"bench-{guarantee[:3]}{members}")
            broker.create_topics(
                topics.input, topics.output, topics.dlq, partitions=KAFKA_PARTITIONS
            )
            flags = [*kafka_path.transformer_flags(broker, topics, max_in_flight=TOP),
                     "--kafka_processing_guarantee", guarantee]
            started = []
            try:
                for _ in range(members):
                    started.append(servers.start_transformer(
                        settings.log_dir, predictor.endpoint, protocol, flags
                    ))
                kafka_path.wait_all_assigned(
                    [member.server.log for member in started], topics.input, 120
                )
                return kafka_path.measure(
                    broker, topics, workload, settings.kafka_messages,
                    settings.kafka_time_cap_s, kafka_path.encode_transformer,
                    kafka_path.decode_transformer, read_committed=True,
                ).summary()
            finally:
                for member in started:
                    member.stop()

        data["at_least_once"] = measure(1, "at_least_once")
        data["exactly_once"] = measure(1, "exactly_once")
        data["consumers"] = {"1": data["at_least_once"]}
        for members in settings.kafka_extra_consumers:
            data["consumers"][str(members)] = measure(members, "at_least_once")


def mlserver_kafka_phase(
    run: Run,
    model: str,
    workload: Workload,
    mlserver: servers.Launched,
    broker: KafkaBroker,
    topics: kafka_path.Topics,
    outputs: Outputs,
) -> None:
    settings = run.settings
    with run.phase(model, "mlserver_kafka") as data:
        kafka = kafka_path.measure(
            broker, topics, workload, settings.kafka_messages, settings.kafka_time_cap_s,
            kafka_path.encode_mlserver, kafka_path.decode_mlserver,
        )
        direct = asyncio.run(_direct_http(mlserver, workload, settings, "v2-rest"))
        data.update(kafka=kafka.summary(), direct_http=direct.summary(),
                    in_flight="unbounded (MLServer schedules every record at once)")
        outputs["kafka-mlserver"] = kafka.outputs


async def _direct_http(
    launched: servers.Launched, workload: Workload, settings: BenchSettings, protocol: str
) -> LoadResult:
    """The same messages over HTTP at the Kafka path's concurrency, right after it."""
    async with targets.http_client(TOP) as client:
        factory = targets.v1_rest if protocol == "v1-rest" else targets.v2_rest
        call = factory(client, launched.endpoint, workload)
        await warm_up(call, TOP, TOP, first_index=10_000)
        return await run_load(
            "direct", call, requests=settings.kafka_messages, concurrency=TOP,
            time_cap_s=settings.kafka_time_cap_s, server_cpu=launched.cpu_seconds,
        )


# --- outputs --------------------------------------------------------------------------------


def compare_outputs(data: dict, workload: Workload, outputs: Outputs) -> None:
    """How many outputs each path shares with the KServe predictor (its first protocol at the
    top level), and how many demo outputs match the grammar's reference translation."""
    reference = next(
        (n for n in ("kserve-v1-rest", "kserve-v2-rest", "kserve-v2-grpc") if n in outputs), None
    )
    if reference is None:
        return
    served = outputs[reference]
    equal = {}
    for name, produced in outputs.items():
        common = [i for i in produced if i in served]
        if name != reference and common:
            same = sum(produced[i] == served[i] for i in common)
            fraction = round(same / len(common), 4)
            equal[name] = {"compared": len(common), "equal": same, "fraction": fraction}
    data["equal_outputs"] = {"against": reference, **equal}
    if workload.references is not None and served:
        exact = sum(served[i] == workload.references[i % len(workload.references)] for i in served)
        data["reference_exact"] = round(exact / len(served), 4)
