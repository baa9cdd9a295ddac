"""Real processes for the tests and the benchmarks alike: starting servers on free loopback
ports (`processes`), a real Kafka broker (`kafka`), reading Prometheus text (`metrics`).

Shared by `tests/` (through `tests.support`) and `benchmarks/`; the benchmarks import nothing
from `tests/`. Not shipped in any image.
"""
