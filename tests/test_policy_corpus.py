"""Real policy files (tests/data/policies, sources in SOURCES.md): each parses, yields an
access relation, and compared with itself reports nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tap_tailscale.admin_audit.policy import analyse_policy
from tap_tailscale.policy import compare, parse_policy, relation

CORPUS = Path(__file__).parent / "data" / "policies"
FILES = sorted(p for p in CORPUS.iterdir() if p.suffix in (".hujson", ".json"))


def test_the_corpus_is_there_and_every_file_has_a_source() -> None:
    assert len(FILES) >= 6
    sources = (CORPUS / "SOURCES.md").read_text()
    assert all(f"`{path.name}`" in sources for path in FILES)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_file_parses_and_is_unchanged_against_itself(path: Path) -> None:
    text = path.read_text()
    policy = parse_policy(text)
    assert isinstance(policy, dict)
    assert relation(policy), "every corpus file allows something"
    delta = compare(policy, policy)
    assert delta.widened == []
    assert delta.narrowed == []
    analysis = analyse_policy(text, text)
    assert analysis.error is None
    assert analysis.changes == {}
    assert analysis.risks == {}


def test_capitalised_keys_read_like_lower_case_ones() -> None:
    policy = parse_policy((CORPUS / "terraform-provider-acl-test.hujson").read_text())
    assert compare(None, policy).became_reachable() == [
        "* \N{RIGHTWARDS ARROW} *:*, was not reachable"
    ]
