"""The distributions a user installs: `python -m build` output, checked like an index would.

Builds the sdist and the wheel from this checkout into a temporary folder (hatchling comes
from PyPI into build's isolated environment; about ten seconds), then checks what they carry.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parent.parent
# Folders of the repository that are not part of the source a packager rebuilds from.
NOT_SHIPPED = {".github", ".ci", "output", ".meltano"}
URL_LABELS = {"Homepage", "Repository", "Issues", "Documentation", "Changelog"}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    for tool in ("build", "twine"):
        if importlib.util.find_spec(tool) is None:
            pytest.skip(f"`{tool}` is not installed: pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (sdist,) = out.glob("*.tar.gz")
    (wheel,) = out.glob("*.whl")
    return {"sdist": sdist, "wheel": wheel}


def sdist_members(path: Path) -> list[str]:
    """Member paths below the sdist's top folder (`tap_tailscale-0.1.0/`)."""
    with tarfile.open(path) as archive:
        return [name.partition("/")[2] for name in archive.getnames()]


def test_sdist_carries_the_license_and_no_ci_or_output(dist: dict[str, Path]) -> None:
    members = sdist_members(dist["sdist"])
    assert "LICENSE" in members
    assert "pyproject.toml" in members
    shipped = {name.split("/")[0] for name in members if "/" in name}
    assert not shipped & NOT_SHIPPED, sorted(shipped & NOT_SHIPPED)


def test_wheel_carries_the_license_text(dist: dict[str, Path]) -> None:
    with zipfile.ZipFile(dist["wheel"]) as wheel:
        names = wheel.namelist()
        (license_path,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
        assert wheel.read(license_path).decode() == (ROOT / "LICENSE").read_text()
        (metadata_path,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        metadata = Parser().parsestr(wheel.read(metadata_path).decode())
    assert not {n.split("/")[0] for n in names} & NOT_SHIPPED
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    urls = {entry.split(",")[0] for entry in metadata.get_all("Project-URL") or []}
    assert urls == URL_LABELS
    assert metadata["Author"] or metadata["Author-email"]
    classifiers = metadata.get_all("Classifier") or []
    assert any(c.startswith("Development Status :: ") for c in classifiers)


def test_twine_check_passes(dist: dict[str, Path]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.values())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout
