"""`make prometheus-up`: write a prometheus.yml that scrapes the servers of `make run`,
`make run-transformer` and `make run-mlserver` through the rendered PodMonitors (as the tests
do), and the alerting rules file from the rendered PrometheusRule.

    python -m tests.monitoring.local_prometheus --out build/prometheus \\
        --predictor 127.0.0.1:8080 --transformer 127.0.0.1:8090 --mlserver-metrics 127.0.0.1:8082
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

from tests.manifests.rendering import OVERLAYS_DIR, kustomize_build, of_kind
from tests.monitoring.rules import write_rules_file
from tests.monitoring.scrape_config import LocalServer, prometheus_config, served_pods

OVERLAYS = ("default", "mlserver", "monitoring")


def local_servers(args: argparse.Namespace) -> list[LocalServer]:
    return [
        LocalServer("default", "translator", "predictor", "local-predictor",
                    {"http": args.predictor}),
        LocalServer("default", "translator", "transformer", "local-transformer",
                    {"http": args.transformer}),
        LocalServer("mlserver", "translator-mlserver", "predictor", "local-mlserver",
                    {"metrics": args.mlserver_metrics}),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.monitoring.local_prometheus")
    parser.add_argument("--out", type=Path, required=True, help="folder for the written files")
    parser.add_argument("--predictor", default="127.0.0.1:8080", help="KServe predictor HTTP")
    parser.add_argument("--transformer", default="127.0.0.1:8090", help="transformer HTTP")
    parser.add_argument("--mlserver-metrics", default="127.0.0.1:8082", help="MLServer metrics")
    parser.add_argument("--scrape-interval", default="5s", help="instead of the PodMonitors' 15s")
    args = parser.parse_args(argv)

    rendered = {name: kustomize_build(OVERLAYS_DIR / name) for name in OVERLAYS}
    args.out.mkdir(parents=True, exist_ok=True)
    rules = write_rules_file(rendered["monitoring"], args.out)
    config = prometheus_config(
        of_kind(rendered["monitoring"], "PodMonitor"),
        served_pods(rendered, local_servers(args)),
        scrape_interval=args.scrape_interval,
        evaluation_interval=args.scrape_interval,
        rule_files=(str(rules),),
    )
    target = args.out / "prometheus.yml"
    target.write_text(yaml.safe_dump(config, sort_keys=False))
    print(f"wrote {target} and {rules}")


if __name__ == "__main__":
    main()
