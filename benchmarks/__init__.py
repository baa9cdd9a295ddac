"""`make bench`: serving efficiency measured side by side in one run, reported as ratios.

Run as `python -m benchmarks [--mode quick|full|smoke]` from the repository root in .venvs/dev.
Every server is a real process from its own image environment on free loopback ports; every
load loop is bounded in request count and time. Process, Kafka and metrics helpers come from
the top-level `harness` package (shared with the tests); nothing is imported from `tests/`.
"""
