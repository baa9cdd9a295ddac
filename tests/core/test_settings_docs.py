"""The engine settings are declared once: `--help` and the README's table come from them."""

import re

from argos_core.settings import EngineSettings
from tests.support.processes import REPO_ROOT

TABLE = re.compile(r"<!-- engine-settings:[^\n]*-->\n(.*?)\n<!-- /engine-settings -->", re.S)


def test_readme_table_is_generated_from_the_settings() -> None:
    match = TABLE.search((REPO_ROOT / "README.md").read_text())
    assert match, "README.md lost its engine-settings markers"
    expected = EngineSettings.markdown_table()
    assert match.group(1) == expected, (
        "README's engine settings table differs from EngineSettings; replace it with:\n"
        + expected
    )


def test_every_setting_has_a_meaning() -> None:
    for field in EngineSettings.__dataclass_fields__.values():
        assert field.metadata.get("help"), f"{field.name} has no help text"
