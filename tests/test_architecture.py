"""The package's shape: small modules and functions, one-way imports, SDK internals in one place."""

from __future__ import annotations

import ast
import textwrap
from functools import cache
from pathlib import Path

import pytest
import singer_sdk

PACKAGE = Path(__file__).resolve().parents[1] / "tap_tailscale"
MODULES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
SDK = Path(singer_sdk.__file__).resolve().parent
# Public names of the SDK that are final or internal to its CLI: overriding or calling them
# is as much a private use as a leading underscore.
SDK_FINAL_OR_INTERNAL = {"sync_all", "invoke", "get_singer_command", "state_manager", "cb_test"}
# Known debt, each name listed so the guard fails when it grows and when it shrinks:
# oauth.py reads OAuthAuthenticator's private fields (the restructure's client owns them).
SDK_PRIVATE_DEBT = {"oauth.py": {"_client_id", "_client_secret", "_oauth_headers", "_session"}}


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


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.endswith("__")


def _stored_names(tree: ast.AST) -> set[str]:
    """Names a module defines: functions, classes, assigned names and attributes."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            found.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            found.add(node.id)
    return found


@cache
def _sdk_private() -> frozenset[str]:
    """Every private name singer_sdk defines that the tap does not define itself."""
    sdk: set[str] = set()
    for path in SDK.rglob("*.py"):
        sdk |= {n for n in _stored_names(ast.parse(path.read_text())) if _is_private(n)}
    own: set[str] = set()
    for path in MODULES:
        if path.name != "sdk_internals.py":
            own |= _stored_names(ast.parse(path.read_text()))
    return frozenset(sdk - own)


def _package(module: str) -> str:
    return module.rpartition(".")[0]


def _shares_privates_with(module: str, imported: str) -> bool:
    """False when `module` may use `imported`'s private names: both in one subpackage.

    A module at the package's top level is a room of its own: a split made to fit the
    size cap must give its parts public names, not share private ones.
    """
    home = _package(module)
    source = imported if imported == "tap_tailscale" else _package(imported)
    return home != source or home == "tap_tailscale"


def private_uses(source: str, module: str) -> set[str]:
    """The SDK private or final names `source` uses, and `_private` names it imports from
    another tap_tailscale package; `module` is its dotted name (a package's is its own)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [alias.name for alias in node.names]
            if node.module.split(".")[0] == "singer_sdk":
                parts = [*node.module.split("."), *names]
                found |= {f"singer_sdk:{p}" for p in parts if _is_private(p)}
            elif node.module.startswith("tap_tailscale") and _shares_privates_with(
                module, node.module
            ):
                found |= {f"{node.module}:{n}" for n in names if _is_private(n)}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == "singer_sdk" and any(_is_private(p) for p in parts):
                    found.add(f"singer_sdk:{alias.name}")
        elif isinstance(node, ast.Attribute) and (
            node.attr in _sdk_private() or node.attr in SDK_FINAL_OR_INTERNAL
        ):
            found.add(node.attr)
        elif isinstance(node, ast.FunctionDef) and (
            node.name in _sdk_private() or node.name in SDK_FINAL_OR_INTERNAL
        ):
            found.add(f"def {node.name}")
    return found


def test_sdk_private_names_live_in_one_module() -> None:
    users = {
        path.name: uses
        for path in MODULES
        if (uses := private_uses(path.read_text(), _module_name(path)))
    }
    assert users.pop("sdk_internals.py"), "sdk_internals.py is where the SDK's privates live"
    assert users == SDK_PRIVATE_DEBT


VIOLATIONS = textwrap.dedent(
    """
    from singer_sdk.plugin_base import _ConfigInput
    from singer_sdk._singerlib import messages
    import singer_sdk.helpers._state
    from tap_tailscale.admin_audit.rules import _as_set
    from tap_tailscale.auth_base import _METHOD_HINT

    class Stream:
        def _increment_stream_state(self, record): ...
        def sync_all(self): ...

        def emit(self):
            self._tap.message_writer
            self.state_manager
    """
)


def test_the_guard_sees_every_kind_of_violation() -> None:
    # Run on a module that breaks each rule, the guard must name every breach.
    assert private_uses(VIOLATIONS, "tap_tailscale.streams.probe") == {
        "singer_sdk:_ConfigInput",
        "singer_sdk:_singerlib",
        "singer_sdk:singer_sdk.helpers._state",
        "tap_tailscale.admin_audit.rules:_as_set",
        "tap_tailscale.auth_base:_METHOD_HINT",
        "def _increment_stream_state",
        "def sync_all",
        "_tap",
        "state_manager",
    }
    # Within one subpackage a module may share its private names with its neighbours;
    # top-level modules share none.
    assert "tap_tailscale.admin_audit.rules:_as_set" not in private_uses(
        VIOLATIONS, "tap_tailscale.admin_audit.probe"
    )
    assert private_uses(VIOLATIONS, "tap_tailscale.probe") >= {
        "tap_tailscale.admin_audit.rules:_as_set",
        "tap_tailscale.auth_base:_METHOD_HINT",
    }
    assert private_uses("self.services.report\nfrom tap_tailscale.x import y\n", "m") == set()


def test_this_file_is_checked_by_its_own_guard() -> None:
    # The guard module breaks no rule of its own (it names them only in strings).
    assert private_uses(Path(__file__).read_text(), "tests.test_architecture") == set()


def test_the_runtime_package_holds_no_emulator() -> None:
    assert not (PACKAGE / "emulator").exists()
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    assert "emulator" not in pyproject.split("[project.scripts]")[1].split("[")[0]
