"""Suite-wide settings: every test's own scratch space, and where the examples live."""

from __future__ import annotations

import os
import sys

import pytest

# Importing kserve parses sys.argv with KServe's own argparse parser (kserve/model_server.py), which
# exits on pytest's options that abbreviate one of its flags (e.g. `--co`). Pytest has parsed them.
sys.argv = sys.argv[:1]

# The demo domain's examples (shared/demo-domain/README.md): the embedded model gets them exact.
DEMO_EXAMPLES = [
    ("The small dog sleeps.", "El perro pequeño duerme."),
    ("A girl reads the new book.", "Una niña lee el libro nuevo."),
    ("The houses are white.", "Las casas son blancas."),
    ("My friends buy the red apples.", "Mis amigos compran las manzanas rojas."),
    ("This old man has a blue car.", "Este hombre viejo tiene un coche azul."),
    ("These happy women sing.", "Estas mujeres felices cantan."),
    ("The cat sees a beautiful flower.", "El gato ve una flor hermosa."),
    ("My city is big.", "Mi ciudad es grande."),
]


@pytest.fixture(scope="session", autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """argostranslate creates folders under XDG dirs at import: keep them out of $HOME."""
    base = tmp_path_factory.mktemp("xdg")
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(base / name.lower())
    os.environ["ARGOS_EXTRACT_DIR"] = str(base / "extract")
