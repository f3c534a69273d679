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
# oauth.py reads OAuthAuthenticator's token session and headers, which have no public getter
# (added by meltano/sdk#1815 and #3435).
SDK_PRIVATE_DEBT = {"oauth.py": {"_oauth_headers", "_session"}}


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
        if path.name != "sdk_overrides.py":
            own |= _stored_names(ast.parse(path.read_text()))
    return frozenset(sdk - own)


def _package(module: str) -> str:
    """The room a module belongs to: its top-level package, or itself at the top level.

    A module at the package's top level is a room of its own: a split made to fit the
    size cap must give its parts public names, not share private ones.
    """
    parts = module.split(".")
    if len(parts) <= 2:  # tap_tailscale, or a top-level module
        return module
    return ".".join(parts[:2])


def _shares_privates_with(module: str, imported: str) -> bool:
    """False when `module` may use `imported`'s private names: both in one package."""
    return _package(module) != _package(imported) or _package(module) == "tap_tailscale"


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
                if any(_is_private(part) for part in node.module.split(".")):
                    found.add(f"{node.module}:*")
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
    assert users.pop("sdk_overrides.py"), "sdk_overrides.py is where the SDK's privates live"
    assert users == SDK_PRIVATE_DEBT


VIOLATIONS = textwrap.dedent(
    """
    from singer_sdk.plugin_base import _ConfigInput
    from singer_sdk._singerlib import messages
    import singer_sdk.helpers._state
    from tap_tailscale.admin_audit.rules import _as_set
    from tap_tailscale.client.auth.base import _METHOD_HINT

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
    assert private_uses(VIOLATIONS, "tap_tailscale.streams.log_streams.probe") == {
        "singer_sdk:_ConfigInput",
        "singer_sdk:_singerlib",
        "singer_sdk:singer_sdk.helpers._state",
        "tap_tailscale.admin_audit.rules:_as_set",
        "tap_tailscale.client.auth.base:_METHOD_HINT",
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
        "tap_tailscale.client.auth.base:_METHOD_HINT",
    }
    assert private_uses("self.services.report\nfrom tap_tailscale.x import y\n", "m") == set()


def test_this_file_is_checked_by_its_own_guard() -> None:
    # The guard module breaks no rule of its own (it names them only in strings).
    assert private_uses(Path(__file__).read_text(), "tests.test_architecture") == set()


def test_the_runtime_package_holds_no_emulator() -> None:
    assert not (PACKAGE / "emulator").exists()
    pyproject = (PACKAGE.parent / "pyproject.toml").read_text()
    assert "emulator" not in pyproject.split("[project.scripts]")[1].split("[")[0]


PACKAGES = sorted(
    _module_name(path.parent)
    for path in PACKAGE.glob("*/__init__.py")
    if path.parent.name != "__pycache__"
)


def _imported_modules(source: str) -> set[str]:
    """Every tap_tailscale module a source imports from, TYPE_CHECKING blocks included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("tap_tailscale.")}


def behind_faces(source: str, module: str) -> set[str]:
    """Imports that reach past another package's face (`__init__`) into its modules."""
    faces = {_module_name(p.parent) for p in MODULES if p.name == "__init__.py"}
    return {
        imported
        for imported in _imported_modules(source)
        if _package(imported) != _package(module)
        and _package(imported) in PACKAGES
        and imported not in faces
    }


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_other_packages_are_used_through_their_faces(path: Path) -> None:
    module = _module_name(path)
    assert behind_faces(path.read_text(), module) == set(), (
        f"{module} imports another package's module; import from its face (__init__)"
    )


def test_the_face_guard_sees_a_reach_past_a_face() -> None:
    source = "from tap_tailscale.client.exchange import send\nfrom tap_tailscale.logs import x\n"
    assert behind_faces(source, "tap_tailscale.streams.probe") == {"tap_tailscale.client.exchange"}
    # Inside its own package a module imports its neighbours directly; a subpackage's
    # face (client.auth) is a face too.
    assert behind_faces(source, "tap_tailscale.client.probe") == set()
    assert behind_faces("from tap_tailscale.client.auth import x\n", "tap_tailscale.tap") == set()


def test_packages_import_each_other_one_way() -> None:
    graph: dict[str, set[str]] = {}
    for path in MODULES:
        home = _package(_module_name(path))
        targets = {_package(m) for m in _runtime_imports(path)} - {home, "tap_tailscale"}
        graph.setdefault(home, set()).update(targets)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                pytest.fail("package cycle: " + " -> ".join([*trail, node, target]))
            if target not in state:
                visit(target, [*trail, node])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])


def test_the_package_cycle_guard_sees_a_cycle() -> None:
    assert _package("tap_tailscale.client.auth.base") == "tap_tailscale.client"
    assert _package("tap_tailscale.errors") == "tap_tailscale.errors"
    assert _package("tap_tailscale") == "tap_tailscale"


OUTSIDE = sorted(
    path
    for folder in ("tests", "scripts", "emulator")
    for path in (PACKAGE.parent / folder).rglob("*.py")
    if ".venv" not in path.parts
)


@pytest.mark.parametrize("path", OUTSIDE, ids=lambda p: str(p.relative_to(PACKAGE.parent)))
def test_tests_and_scripts_import_no_private_name(path: Path) -> None:
    # Tests may import a package's modules (they mirror the package), never its privates.
    uses = private_uses(path.read_text(), "outside")
    assert {use for use in uses if use.startswith("tap_tailscale")} == set()


def _overrides(source: str) -> dict[str, str]:
    """Each method marked @override in a source, with its source text."""
    found = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef) and any(
            "override" in ast.unparse(decorator) for decorator in node.decorator_list
        ):
            found[node.name] = ast.get_source_segment(source, node) or ""
    return found


def test_every_sdk_override_names_the_upstream_issue_that_would_retire_it() -> None:
    overrides = _overrides((PACKAGE / "sdk_overrides.py").read_text())
    assert len(overrides) >= 8
    unlinked = sorted(name for name, text in overrides.items() if "meltano/sdk#" not in text)
    assert unlinked == []


def test_the_override_link_check_sees_a_missing_link() -> None:
    source = "class A:\n    @override\n    def f(self):\n        return 1\n"
    assert _overrides(source) == {"f": "def f(self):\n        return 1"}
