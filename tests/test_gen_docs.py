"""The generated documents match the code (scripts/gen_docs.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from tap_tailscale.admin_audit import EVENT_TYPES, RULES, SEVERITIES
from tap_tailscale.inventory.posture_rules import RULES as POSTURE_RULES
from tests.admin_events import record

SCRIPT = Path(__file__).parents[1] / "scripts" / "gen_docs.py"
DOCS = Path(__file__).parents[1] / "docs"
TRANSFORM = Path(__file__).parents[1] / "transform"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _load()


@pytest.mark.parametrize("name", ["admin-audit-actions.md", "detections.md"])
def test_docs_match_the_code(name: str) -> None:
    assert (DOCS / name).read_text(encoding="utf-8") == gen_docs.DOCUMENTS[name](), (
        f"docs/{name} is stale; run python scripts/gen_docs.py"
    )


def _table_rows(name: str) -> list[list[str]]:
    """The cells of every table row in a committed document."""
    text = (DOCS / name).read_text(encoding="utf-8")
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| ---")
    ]


def test_actions_doc_says_what_the_records_carry() -> None:
    # The expectation is the record the tap emits for each event, not the generator's
    # helpers: a row whose action or severity the records do not carry fails here.
    documented = {
        row[0].strip("`"): (row[1].strip("`"), row[2])
        for row in _table_rows("admin-audit-actions.md")
        if len(row) >= 3 and row[0].startswith("`") and row[0].strip("`") in EVENT_TYPES
    }
    assert set(documented) == set(EVENT_TYPES)
    assert documented["API_KEY.CREATE"] == ("auth_key:create", "high")
    assert documented["ADMIN_CONSOLE.LOGIN"] == ("session:login", "info")
    for ev, (action, severity) in documented.items():
        rec = record(ev)
        assert rec["action"] == action, ev
        # Findings may raise a record above its action's default, never below it.
        assert SEVERITIES.index(rec["severity"]) <= SEVERITIES.index(severity), ev
        if not rec["findings"]:
            assert rec["severity"] == severity, ev


def _rule_tables(name: str) -> dict[str, list[str]]:
    """Rule ID -> [title, severity], from every table headed `Rule | Title | Severity`."""
    text = (DOCS / name).read_text(encoding="utf-8")
    found: dict[str, list[str]] = {}
    in_rules = False
    for line in text.splitlines():
        if not line.startswith("| "):
            in_rules = False
            continue
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        if cells[:3] == ["Rule", "Title", "Severity"]:
            in_rules = True
        elif in_rules and not line.startswith("| ---"):
            assert cells[0] not in found, f"{cells[0]} is listed twice"
            found[cells[0]] = cells[1:3]
    return found


def test_detections_doc_lists_every_rule() -> None:
    documented = _rule_tables("detections.md")
    every = [(r.rule_id, r.title, r.severity) for r in RULES]
    every += [(r.rule_id, r.title, r.severity) for r in POSTURE_RULES]
    project = yaml.safe_load((TRANSFORM / "dbt_project.yml").read_text(encoding="utf-8"))
    history = project["vars"]["tt_rules"]
    assert len(history) >= 16
    every += [(rule_id, rule["title"], rule["severity"]) for rule_id, rule in history.items()]
    assert set(documented) == {rule_id for rule_id, *_ in every}
    for rule_id, title, severity in every:
        assert documented[rule_id] == [title, severity], rule_id


def test_check_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen_docs.main([], docs=tmp_path) == 0
    assert gen_docs.main(["--check"], docs=tmp_path) == 0
    (tmp_path / "detections.md").write_text("stale\n", encoding="utf-8")
    assert gen_docs.main(["--check"], docs=tmp_path) == 1
    assert "detections.md" in capsys.readouterr().err
