"""Where the demo model is built and where the committed artifact lives (no heavy imports)."""

from pathlib import Path

from argos_demo import PACKAGE_NAME

SOURCE_ROOT = Path(__file__).resolve().parent.parent
ARTIFACT_PATH = SOURCE_ROOT / "argos_core" / "embedded" / f"{PACKAGE_NAME}.argosmodel"
DEFAULT_WORK_DIR = SOURCE_ROOT.parent / "build" / "demo-model"
