"""docs/diagnostics.md is generated from the code registry and must document every code."""

from __future__ import annotations

import re
from pathlib import Path

from autocoder.diagnostics import codes, docs

ROOT = Path(__file__).resolve().parents[2]


def test_diagnostics_page_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "diagnostics.md").read_text(encoding="utf-8")
    assert committed == docs.render(), "run `python -m autocoder.diagnostics.docs`"


def test_codes_are_unique_well_formed_and_explained() -> None:
    names = [c.name for c in codes.REGISTRY.values()]
    assert len(names) == len(set(names))
    for code in codes.REGISTRY.values():
        assert re.fullmatch(r"AC\d{4}", code.id)
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", code.name)
        assert code.summary.endswith(".") and len(code.explanation) > 10


def test_every_code_is_raised_somewhere_in_the_package() -> None:
    package = ROOT / "autocoder"
    source = "\n".join(
        p.read_text(encoding="utf-8")
        for p in package.rglob("*.py")
        if p.name not in ("codes.py", "docs.py")
    )
    unused = [
        c.id for c in codes.REGISTRY.values() if not re.search(rf"codes\.{_constant(c)}\b", source)
    ]
    assert unused == [], f"codes declared but never reported: {unused}"


def _constant(code: codes.Code) -> str:
    for name, value in vars(codes).items():
        if value is code:
            return name
    raise AssertionError(code)
