"""`make bench`: serving efficiency measured side by side in one run, reported as ratios.

Run as `python -m benchmarks [--mode quick|full|smoke]` from the repository root in .venvs/dev.
Every server is a real process from its own image environment on free loopback ports; every
load loop is bounded in request count and time.
"""

import sys
import types
from pathlib import Path


def _use_repository_tests_package() -> None:
    """Import `tests.support` from this repository.

    argostranslate's wheel installs a top-level `tests` package into site-packages, which
    shadows the repository's `tests/` folder (a namespace package) outside pytest. Under
    pytest, `tests` is already the repository's and is left alone.
    """
    if "tests" in sys.modules:
        return
    package = types.ModuleType("tests")
    package.__path__ = [str(Path(__file__).resolve().parents[1] / "tests")]
    sys.modules["tests"] = package


_use_repository_tests_package()
