"""The package's shape: small modules and functions, one-way imports, SDK internals in one place."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tap_tailscale"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Private or final names of the Singer SDK that the tap relies on; see sdk_internals.py.
SDK_PRIVATE = re.compile(
    r"_increment_stream_state|_write_record_message|_write_state_message|_stream_version"
    r"|state_manager|self\._tap\b|_validate_config|_ConfigInput|\bcb_test\b|def sync_all"
    r"|from singer_sdk[\w.]* import _|def invoke\b|get_singer_command"
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _runtime_imports(path: Path) -> set[str]:
    """tap_tailscale modules imported at run time (not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for child in ast.walk(node))
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tap_"):
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("tap_tailscale"))
    names = {_module_name(p) for p in MODULES}
    return {name for name in found if name in names}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_modules_and_functions_are_small(path: Path) -> None:
    source = path.read_text()
    assert source.count("\n") <= MAX_MODULE_LINES, f"{path.name} is over {MAX_MODULE_LINES} lines"
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path.name}:{node.name} is {length} lines"


def test_no_import_cycle() -> None:
    graph = {_module_name(path): _runtime_imports(path) for path in MODULES}
    state: dict[str, int] = {}

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if target.startswith(module + ".") or module.startswith(target + "."):
                continue  # a package and its own submodules
            if state.get(target) == 1:
                pytest.fail("import cycle: " + " -> ".join([*trail, module, target]))
            if target not in state:
                visit(target, [*trail, module])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_sdk_private_names_live_in_one_module() -> None:
    users = sorted(p.name for p in MODULES if SDK_PRIVATE.search(p.read_text()))
    assert users == ["sdk_internals.py"]


def test_the_architecture_check_sees_a_violation(tmp_path: Path) -> None:
    # The pattern must match what it guards against, or the test above proves nothing.
    assert SDK_PRIVATE.search("        self._tap.message_writer")
    assert SDK_PRIVATE.search("from singer_sdk.plugin_base import _ConfigInput")
    assert not SDK_PRIVATE.search("self.services.report")


def test_the_runtime_package_holds_no_emulator() -> None:
    assert not (PACKAGE / "emulator").exists()
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    assert "emulator" not in pyproject.split("[project.scripts]")[1].split("[")[0]
