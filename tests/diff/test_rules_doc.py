"""docs/breaking-changes.md is generated from the rule registry and lists every rule."""

from __future__ import annotations

from pathlib import Path

from autocoder.cli.diff import rules_markdown
from autocoder.diff import RULES

ROOT = Path(__file__).resolve().parents[2]


def test_the_rules_page_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "breaking-changes.md").read_text(encoding="utf-8")
    assert committed == rules_markdown(), "run `python -m autocoder.cli.diff`"
    for rule_id in RULES:
        assert f"`{rule_id}`" in committed


def test_rule_ids_are_stable_and_well_formed() -> None:
    assert len(RULES) >= 20
    for rule in RULES.values():
        assert rule.id.replace("-", "").isalpha() and rule.id == rule.id.lower()
        assert rule.summary.endswith(".")
