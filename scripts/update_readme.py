"""Regenerate the README's generated sections, or check that they are current.

    python scripts/update_readme.py          # rewrite README.md in place
    python scripts/update_readme.py --check  # exit 1 if README.md is stale

Section: the settings table, taken from `tap-tailscale --about --format=markdown` (only its
`| Setting ...` rows, so the heading and text around them do not matter), so it cannot drift
from the code. The admin_audit action table lives in docs/admin-audit-actions.md.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


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


def replace_section(text: str, name: str, body: str) -> str:
    begin, finish = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, found, rest = text.partition(begin)
    if not found:
        raise SystemExit(f"README.md has no {begin} marker")
    _, found, tail = rest.partition(finish)
    if not found:
        raise SystemExit(f"README.md has no {finish} marker")
    return f"{head}{begin}\n{body}\n{finish}{tail}"


def render(text: str) -> str:
    return replace_section(text, "settings", settings_table())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md is stale")
    arguments = parser.parse_args()
    current = README.read_text()
    wanted = render(current)
    if arguments.check:
        if wanted != current:
            print("README.md is stale: run `python scripts/update_readme.py`", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
