"""Golden tests: each case directory holds blueprints and the exact diagnostics they produce.

tests/passes/golden/<pass>/<case>/architecture.yaml (+ deployment.yaml) -> expected.txt.
Run `pytest tests/passes --update-golden` to rewrite expected.txt, then review the diff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autocoder.compiler import compile_source
from autocoder.diagnostics import render_text

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p.parent for p in GOLDEN.glob("*/*/architecture.yaml"))


@pytest.mark.parametrize("case", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_golden(case: Path, repo_root: Path, update_golden: bool) -> None:
    result = compile_source(case.relative_to(repo_root))
    actual = render_text(result.sink.diagnostics, result.sink.sources, show_suppressed=True)
    expected_file = case / "expected.txt"
    if update_golden:
        expected_file.write_text(actual, encoding="utf-8")
    assert expected_file.exists(), f"{expected_file} is missing; run with --update-golden"
    assert actual == expected_file.read_text(encoding="utf-8")


def test_every_pass_has_golden_cases() -> None:
    from autocoder.passes import PASSES

    covered = {p.parent.name for p in CASES}
    missing = [p.__name__ for p in PASSES if p.__name__ not in covered]
    assert missing == []


def test_clean_cases_have_no_errors_or_warnings(repo_root: Path) -> None:
    clean = [c for c in CASES if c.name.startswith("ok")]
    assert {c.parent.name for c in clean} == {c.parent.name for c in CASES}, "each pass needs ok*"
    for case in clean:
        counts = compile_source(case.relative_to(repo_root)).sink.counts()
        assert (counts["errors"], counts["warnings"]) == (0, 0), case


def test_every_semantic_code_is_shown_by_a_case() -> None:
    """Each AC3xxx/AC4xxx/AC5xxx code a pass (or the suppression step) can raise has a case."""
    from autocoder.diagnostics.codes import REGISTRY

    shown = {
        code
        for case in CASES
        for code in re.findall(
            r"  \[(AC\d{4})\]$", (case / "expected.txt").read_text(encoding="utf-8"), re.M
        )
    }
    semantic = {code for code in REGISTRY if code[2] in "345"}
    assert sorted(semantic - shown) == []
