"""Regenerate the README's generated sections, or check that they are current.

    python scripts/update_readme.py          # rewrite README.md in place
    python scripts/update_readme.py --check  # exit 1 if README.md is stale

Sections: the settings table, taken from `tap-tailscale --about --format=markdown` (only its
`| Setting ...` rows, so the heading and text around them do not matter), so it cannot drift
from the code; and the module map, one row per package or module of tap_tailscale with the
first sentence of its docstring (`python scripts/update_readme.py --module-map` rewrites only
that section). The admin_audit action table lives in docs/admin-audit-actions.md.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
PACKAGE = README.parent / "tap_tailscale"


def settings_table() -> str:
    """The settings table exactly as `--about --format=markdown` prints it."""
    about = subprocess.run(
        [sys.executable, "-m", "tap_tailscale", "--about", "--format=markdown"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = about.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| Setting "))
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


def _role(path: Path) -> str:
    """The first sentence of a module's docstring: what it holds, in one line."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    paragraph = " ".join(docstring.split("\n\n")[0].split())
    if not paragraph:
        raise SystemExit(f"{path.relative_to(README.parent)} has no docstring to describe it")
    sentence = paragraph.split(". ")[0].rstrip(".")
    return sentence.replace("|", "\\|")


def _room(module: str) -> str:
    """A module's package (`client/`) or, at the top level, the module itself (`tap.py`)."""
    parts = module.split(".")
    if len(parts) < 2:
        return ""
    if (PACKAGE / parts[1]).is_dir():
        return f"{parts[1]}/"
    return f"{parts[1]}.py"


def _uses(files: list[Path], home: str) -> str:
    """The other packages and top-level modules these files import (the arrows out)."""
    found: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
                if node.module == "tap_tailscale":
                    names = [f"tap_tailscale.{alias.name}" for alias in node.names]
                found.update(_room(name) for name in names if name.startswith("tap_tailscale."))
    found -= {home, "", "__init__.py"}
    known = sorted(name for name in found if (PACKAGE / name.rstrip("/")).exists())
    return ", ".join(f"`{name}`" for name in known) or "-"


def module_map() -> str:
    """A table of tap_tailscale's packages and top-level modules: what each holds, the
    modules inside a package, and what each imports (every arrow runs one way)."""
    rows = ["| package or module | what it holds | modules | imports |", "|---|---|---|---|"]
    for path in sorted(PACKAGE.iterdir()):
        if path.is_dir() and (path / "__init__.py").exists():
            files = sorted(path.rglob("*.py"))
            inner = ", ".join(
                str(f.relative_to(path).with_suffix("")) for f in files if f.stem != "__init__"
            )
            home = f"{path.name}/"
            rows.append(
                f"| `{home}` | {_role(path / '__init__.py')} | {inner} | {_uses(files, home)} |"
            )
        elif path.suffix == ".py" and path.stem not in {"__init__", "__main__"}:
            rows.append(f"| `{path.name}` | {_role(path)} | - | {_uses([path], path.name)} |")
    return "\n".join(rows)


def replace_section(text: str, name: str, body: str) -> str:
    begin, finish = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, found, rest = text.partition(begin)
    if not found:
        raise SystemExit(f"README.md has no {begin} marker")
    _, found, tail = rest.partition(finish)
    if not found:
        raise SystemExit(f"README.md has no {finish} marker")
    return f"{head}{begin}\n{body}\n{finish}{tail}"


def render(text: str, *, settings: bool = True) -> str:
    text = replace_section(text, "module-map", module_map())
    return replace_section(text, "settings", settings_table()) if settings else text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md is stale")
    parser.add_argument(
        "--module-map", action="store_true", help="only the module map (no SDK run needed)"
    )
    arguments = parser.parse_args()
    current = README.read_text()
    wanted = render(current, settings=not arguments.module_map)
    if arguments.check:
        if wanted != current:
            print("README.md is stale: run `python scripts/update_readme.py`", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
