"""The README's generated parts match the code, and its first commands are the real ones."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from types import ModuleType

import pytest

from tap_tailscale.tap import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
UPDATE_README = ROOT / "scripts" / "update_readme.py"


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


def _update_readme() -> ModuleType:
    spec = importlib.util.spec_from_file_location("update_readme", UPDATE_README)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_module_map_matches_the_package() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("<!-- module-map:start -->\n")[1].split("\n<!-- module-map:end -->")[0]
    assert section == _update_readme().module_map(), (
        "the README's module map is stale: run python scripts/update_readme.py --module-map"
    )
    # Every module and package of tap_tailscale has its row.
    listed = set(re.findall(r"^\| `([^`]+)` \|", section, flags=re.MULTILINE))
    top = {p.name for p in (ROOT / "tap_tailscale").glob("*.py")} - {"__init__.py", "__main__.py"}
    top |= {f"{p.parent.name}/" for p in (ROOT / "tap_tailscale").glob("*/__init__.py")}
    assert listed == top


def test_module_map_follows_a_new_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "client").mkdir()
    (tmp_path / "client" / "__init__.py").write_text('"""One HTTP client. Details."""\n')
    (tmp_path / "client" / "retry.py").write_text(
        '"""Retries."""\nfrom tap_tailscale.errors import E\n'
    )
    (tmp_path / "errors.py").write_text('"""Errors."""\n')
    (tmp_path / "tap.py").write_text(
        '"""The tap: streams | runs."""\nfrom tap_tailscale.client import C\n'
    )
    (tmp_path / "__main__.py").write_text('"""Not listed."""\n')
    update_readme = _update_readme()
    monkeypatch.setattr(update_readme, "PACKAGE", tmp_path)
    assert update_readme.module_map().splitlines()[2:] == [
        "| `client/` | One HTTP client | retry | `errors.py` |",
        "| `errors.py` | Errors | - | - |",
        "| `tap.py` | The tap: streams \\| runs | - | `client/` |",
    ]
