"""One benchmark run: every phase side by side, each guarded so a failing part is reported as
null with its reason instead of ending the run.

Order per model (one server under load at a time; servers are reused where that changes
nothing measured): engine limit sweep; KServe predictor (V1/V2 REST, V2 gRPC), then with the same
predictor the transformer (overhead vs direct) and the transformer's Kafka ingestion; MLServer
(V2 REST, gRPC), started with its Kafka server on, then MLServer's Kafka path; the
per-request baseline; LibreTranslate. The engine limit is measured again right after each
front end's served runs (the server idle), so each front end is compared with the engine
measured just before and after it.
"""

from __future__ import annotations

import shutil
import time

from benchmarks import kafka_path, phases, servers
from benchmarks.run_context import Run
from benchmarks.workload import Workload
from harness.kafka import KafkaBroker


def run_model(run: Run, model: str) -> None:
    settings = run.settings
    workload = run.workload(model)
    outputs: phases.Outputs = {}
    with_kafka = model == "demo" and (settings.wants("kafka") or settings.wants("mlserver_kafka"))
    if settings.wants("engine"):
        phases.engine_phase(run, model, workload)
    broker = start_broker(run, model) if with_kafka else None
    try:
        # The transformer and its Kafka ingestion call the KServe predictor; MLServer's Kafka
        # server runs inside MLServer.
        if any(settings.wants(c) for c in ("kserve", "transformer", "kafka")):
            kserve_phase(run, model, workload, broker, outputs)
        if any(settings.wants(c) for c in ("mlserver", "mlserver_kafka")):
            mlserver_phase(run, model, workload, broker, outputs)
    finally:
        if broker is not None:
            broker.stop()
            shutil.rmtree(broker.data_dir, ignore_errors=True)
    if settings.wants("per_request"):
        phases.per_request_phase(run, model, workload, outputs)
    if model == "demo" and settings.wants("libretranslate"):
        phases.libretranslate_phase(run, model, workload, outputs)
    phases.compare_outputs(run.models.setdefault(model, {}), workload, outputs)


def start_broker(run: Run, model: str) -> KafkaBroker | None:
    with run.phase(model, "kafka_broker") as data:
        started = time.monotonic()
        broker = kafka_path.start_broker(run.settings.work_dir)
        data["ready_s"] = round(time.monotonic() - started, 2)
        return broker
    return None


def kserve_phase(
    run: Run, model: str, workload: Workload, broker: KafkaBroker | None, outputs: phases.Outputs
) -> None:
    settings = run.settings
    with run.phase(model, "kserve") as data:
        predictor = servers.start_kserve(
            settings.work_dir, settings.log_dir, run.model_dir(model), run.engine_settings(model)
        )
        with servers.stopping(predictor):
            data["cold_start"] = predictor.cold_start()
            if settings.wants("kserve"):
                with phases.engine_process(run, model, workload) as engine:
                    data["served"] = phases.served_protocols(
                        run, model, "kserve", predictor, workload, outputs, engine
                    )
                    data["c1_paired"] = phases.paired_latency_c1(
                        run, model, "kserve", predictor, workload, engine
                    )
                data["peak_rss_mb"] = predictor.peak_rss_mb()
                if settings.wants("engine"):
                    phases.engine_recheck(run, model, workload, "kserve")
            if model == "demo" and settings.wants("transformer"):
                phases.transformer_phase(run, model, workload, predictor)
            if broker is not None and settings.wants("kafka"):
                phases.kafka_transformer_phase(run, model, workload, predictor, broker, outputs)
                phases.kafka_guarantees_phase(run, model, workload, predictor, broker)


def mlserver_phase(
    run: Run, model: str, workload: Workload, broker: KafkaBroker | None, outputs: phases.Outputs
) -> None:
    settings = run.settings
    with run.phase(model, "mlserver") as data:
        topics, kafka_env = None, None
        if broker is not None and settings.wants("mlserver_kafka"):
            topics = kafka_path.Topics.fresh("mlserver")
            broker.create_topics(topics.input, topics.output)
            kafka_env = kafka_path.mlserver_kafka_env(broker, topics)
        mlserver = servers.start_mlserver(
            settings.work_dir, settings.log_dir, run.model_dir(model), run.engine_settings(model),
            kafka=kafka_env,
        )
        with servers.stopping(mlserver):
            data["cold_start"] = mlserver.cold_start()
            data["kafka_server_on"] = kafka_env is not None
            if settings.wants("mlserver"):
                with phases.engine_process(run, model, workload) as engine:
                    data["served"] = phases.served_protocols(
                        run, model, "mlserver", mlserver, workload, outputs, engine
                    )
                    data["c1_paired"] = phases.paired_latency_c1(
                        run, model, "mlserver", mlserver, workload, engine
                    )
                data["peak_rss_mb"] = mlserver.peak_rss_mb()
                if settings.wants("engine"):
                    phases.engine_recheck(run, model, workload, "mlserver")
            if topics is not None:
                phases.mlserver_kafka_phase(run, model, workload, mlserver, broker, topics, outputs)
