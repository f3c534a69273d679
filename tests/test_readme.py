"""The README's generated parts match the code, and its first commands are the real ones."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from tap_tailscale.tap import SETTINGS

ROOT = Path(__file__).resolve().parent.parent


def test_settings_table_matches_about_output() -> None:
    pinned = re.search(r"singer-sdk\[msgspec\]~=(\d+\.\d+)", (ROOT / "pyproject.toml").read_text())
    assert pinned is not None
    if not version("singer-sdk").startswith(pinned.group(1) + "."):
        # The table lists the SDK's built-in settings too; it follows the pinned SDK and is
        # regenerated when the pin moves (the pre-release CI job runs on a newer one).
        pytest.skip(f"singer-sdk {version('singer-sdk')} is not the pinned {pinned.group(1)}")
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "update_readme.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_first_two_commands_are_the_demo_and_the_tests() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```(?:bash|sh|console)\n(.*?)```", readme, flags=re.DOTALL)
    assert commands[0].strip() == "make demo"
    assert commands[1].strip() == "make test"
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^demo:", makefile, flags=re.MULTILINE)
    assert re.search(r"^test:", makefile, flags=re.MULTILINE)
    assert "python -m pytest" in makefile


def test_links_are_absolute_for_the_package_index_page() -> None:
    # The README is also the PyPI page, where relative links and bare anchors lead nowhere.
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", readme)
    assert targets, "the README has links"
    relative = [t for t in targets if not t.startswith(("https://", "http://"))]
    assert relative == []


def test_config_set_lines_give_the_value() -> None:
    # Meltano 4.4.1 crashes (ValueError: not enough values to unpack) when `meltano config
    # set` has no value; tests/e2e/test_readme_meltano.py runs the lines that give one.
    for doc in ("README.md", "docs/meltano.md", "meltano.yml"):
        text = (ROOT / doc).read_text()
        found = [
            command
            for line in text.splitlines()
            # `meltano config set PLUGIN SETTING VALUE`, options allowed before the plugin.
            for command in re.findall(r"meltano config set (?:--\S+ )*[a-z][^`#]*", line)
        ]
        # Each document shows the command: a pattern that matched nothing would pass
        # however the lines were written.
        assert found, f"{doc}: no `meltano config set PLUGIN ...` line found"
        for command in found:
            assert len(command.split()) >= 6, f"{doc}: {command}"


def test_every_setting_is_documented_in_meltano_yml() -> None:
    meltano = (ROOT / "meltano.yml").read_text()
    for name in SETTINGS["properties"]:
        assert re.search(rf"name: {name}\b", meltano), name
