"""`python -m argos_demo build|eval|sample`: build, evaluate or inspect the embedded demo model."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

from argos_demo import logs
from argos_demo.corpus import EVAL_SEED, EVAL_SIZE
from argos_demo.paths import ARTIFACT_PATH, DEFAULT_WORK_DIR

log = logs.get_logger("cli")


def _build(args: argparse.Namespace) -> int:
    from tqdm.contrib.logging import logging_redirect_tqdm

    from argos_demo.build import BuildFailed, BuildSettings, build

    settings = BuildSettings()
    overrides = {"threads": args.threads, "max_steps": args.max_steps}
    training = dataclasses.replace(
        settings.training, **{k: v for k, v in overrides.items() if v is not None}
    )
    settings = dataclasses.replace(settings, training=training)
    try:
        with logging_redirect_tqdm(loggers=[logging.getLogger(logs.LOGGER_NAME)]):
            result = build(args.out, args.work_dir, settings, progress=not args.no_progress)
    except BuildFailed as error:
        logs.event(log, "build_failed", reason=str(error))
        return 1
    report = result.evaluation
    print(
        f"built {result.package} ({result.package.stat().st_size} bytes) in {result.seconds:.0f}s: "
        f"{result.training.steps} steps ({result.training.seconds:.0f}s), "
        f"exact match {report.exact_match:.1%}, BLEU {report.bleu:.1f}"
    )
    return 0


def _eval(args: argparse.Namespace) -> int:
    if not args.package.is_file():
        print(f"no package at {args.package}: run `make demo-model`", file=sys.stderr)
        return 2
    from argos_demo.evaluation import PASS_EXACT_MATCH, evaluate_package
    from argos_demo.grammar import README_EXAMPLES

    report = evaluate_package(args.package, args.count, args.seed)
    for english, expected, got in report.example_failures + report.failures[: args.show_failures]:
        print(f"  {english}\n    expected: {expected}\n    got:      {got}")
    verdict = "PASS" if report.passed else "FAIL"
    correct = report.sentences - len(report.failures)
    examples_right = len(README_EXAMPLES) - len(report.example_failures)
    print(
        f"{verdict}: exact match {report.exact_match:.1%} ({correct}/{report.sentences}), "
        f"BLEU {report.bleu:.1f}; README examples {examples_right}/{len(README_EXAMPLES)}; "
        f"bar: {PASS_EXACT_MATCH:.0%} exact match and every README example"
    )
    return 0 if report.passed else 1


def _sample(args: argparse.Namespace) -> int:
    from argos_demo.grammar import sample_pairs

    for pair in sample_pairs(args.seed, args.count):
        print(f"{pair.en}\t{pair.es}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m argos_demo", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="train, export, package and evaluate the model")
    build.add_argument(
        "--out", type=Path, default=ARTIFACT_PATH, help="where the .argosmodel goes"
    )
    build.add_argument("--work-dir", type=Path, default=DEFAULT_WORK_DIR)
    build.add_argument("--threads", type=int, help="torch threads (default: the training config's)")
    build.add_argument("--max-steps", type=int, help="cap on training steps")
    build.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    build.set_defaults(run=_build)

    evaluate = commands.add_parser("eval", help="exact match and BLEU on fresh sentences")
    evaluate.add_argument("--package", type=Path, default=ARTIFACT_PATH)
    evaluate.add_argument("--count", type=int, default=EVAL_SIZE)
    evaluate.add_argument("--seed", type=int, default=EVAL_SEED)
    evaluate.add_argument("--show-failures", type=int, default=10)
    evaluate.set_defaults(run=_eval)

    sample = commands.add_parser("sample", help="print seeded English<TAB>Spanish domain pairs")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--count", type=int, default=10)
    sample.set_defaults(run=_sample)
    return root


def main(argv: list[str] | None = None) -> int:
    logs.configure()
    args = parser().parse_args(argv)
    return args.run(args)
