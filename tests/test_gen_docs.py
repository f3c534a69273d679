"""The generated documents match the code (scripts/gen_docs.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from tap_tailscale.admin_audit import EVENT_TYPES, RULES, default_severity, normalize_action
from tap_tailscale.posture_rules import RULES as POSTURE_RULES

SCRIPT = Path(__file__).parents[1] / "scripts" / "gen_docs.py"
DOCS = Path(__file__).parents[1] / "docs"


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


def test_actions_doc_lists_every_event_with_action_and_severity() -> None:
    text = gen_docs.actions_markdown()
    for ev in EVENT_TYPES:
        parts = ev.split(".", 2)
        action = normalize_action(parts[0], parts[1], parts[2] if len(parts) > 2 else None)
        assert f"| `{ev}` | `{action}` | {default_severity(action, ev)} |" in text, ev


def test_detections_doc_lists_every_rule() -> None:
    text = gen_docs.detections_markdown()
    for rule in RULES:
        assert f"| {rule.rule_id} | {rule.title} | {rule.severity} |" in text


def test_detections_doc_lists_every_posture_rule() -> None:
    text = gen_docs.detections_markdown()
    for rule in POSTURE_RULES:
        assert f"| {rule.rule_id} | {rule.title} | {rule.severity} |" in text


def test_check_reports_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gen_docs.main([], docs=tmp_path) == 0
    assert gen_docs.main(["--check"], docs=tmp_path) == 0
    (tmp_path / "detections.md").write_text("stale\n", encoding="utf-8")
    assert gen_docs.main(["--check"], docs=tmp_path) == 1
    assert "detections.md" in capsys.readouterr().err
