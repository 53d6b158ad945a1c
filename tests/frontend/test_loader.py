"""The YAML loader: positions for every key and value, and positioned rejections."""

from __future__ import annotations

from pathlib import Path

import pytest

from autocoder.diagnostics import DiagnosticSink
from autocoder.frontend.loader import load_yaml_file, load_yaml_text


def _load(text: str) -> tuple[object, list[tuple[str, int, int, str]]]:
    sink = DiagnosticSink()
    doc = load_yaml_text(text, "f.yaml", sink)
    found = [
        (d.code.id, d.span.line if d.span else 0, d.span.col if d.span else 0, d.message)
        for d in sink.diagnostics
    ]
    return (doc.data if doc else None), found


def test_pointer_table_maps_keys_values_and_list_items() -> None:
    sink = DiagnosticSink()
    doc = load_yaml_text("a: 1\nb:\n  c: [x, {d: y}]\n  e:\n    - f: 2\n", "f.yaml", sink)
    assert doc is not None and doc.data == {"a": 1, "b": {"c": ["x", {"d": "y"}], "e": [{"f": 2}]}}
    span = doc.index.span_for
    assert (span("/a").line, span("/a").col) == (1, 4)
    assert (span("/a", key=True).line, span("/a", key=True).col) == (1, 1)
    assert (span("/b/c/1/d").line, span("/b/c/1/d").col) == (3, 14)
    assert (span("/b/e/0/f").line, span("/b/e/0/f").col) == (5, 10)
    # A pointer that does not exist falls back to its nearest ancestor.
    assert span("/b/e/0/zzz") == span("/b/e/0")


def test_yaml_12_scalars() -> None:
    data, found = _load("a: yes\nb: 0x1F\nc: 1_000\nd: ~\ne: 2027-01-01\nf: 1.5\ng: true\n")
    assert found == []
    assert data == {
        "a": "yes",
        "b": 31,
        "c": 1000,
        "d": None,
        "e": "2027-01-01",
        "f": 1.5,
        "g": True,
    }


def test_merge_keys_are_supported_and_explicit_keys_win() -> None:
    data, found = _load("base: &b {x: 1, y: 2}\nd:\n  <<: *b\n  y: 3\n")
    assert found == [] and data == {"base": {"x": 1, "y": 2}, "d": {"x": 1, "y": 3}}


@pytest.mark.parametrize(
    ("text", "code", "line", "col"),
    [
        ("a: 1\nb:\n  c: 1\n  c: 2\n", "AC1002", 4, 3),  # points at the second key
        ("x: !foo 1\n", "AC1008", 1, 4),
        ("a: 1\n---\nb: 2\n", "AC1008", 2, 1),
        ("1: a\n", "AC1007", 1, 1),
        ("", "AC1006", 0, 0),
        ("- a\n- b\n", "AC1006", 1, 1),
        ("a:\n\tb: 1\n", "AC1001", 2, 1),
        ("a: [1, 2\n", "AC1001", 2, 1),
        ("a: .inf\n", "AC1008", 1, 4),
        ("a: .nan\n", "AC1008", 1, 4),
    ],
)
def test_rejections_are_positioned(text: str, code: str, line: int, col: int) -> None:
    data, found = _load(text)
    assert data is None
    assert [(c, ln, co) for c, ln, co, _ in found] == [(code, line, col)]


def test_alias_bomb_is_refused_before_expansion() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefg", "bcdefgh", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    data, found = _load("\n".join(lines) + "\n")
    assert data is None and found[0][0] == "AC1003"


def test_a_large_file_without_aliases_is_not_a_bomb() -> None:
    text = "items:\n" + "".join(f"  - {{name: n{i}, value: {i}}}\n" for i in range(40_000))
    data, found = _load(text)
    assert found == [] and isinstance(data, dict) and len(data["items"]) == 40_000


def test_invalid_utf8_and_nul_bytes(tmp_path: Path) -> None:
    sink = DiagnosticSink()
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"a: 1\nb: caf\xe9\n")
    assert load_yaml_file(bad, "bad.yaml", sink) is None
    nul = tmp_path / "nul.yaml"
    nul.write_bytes(b"a: 1\nb: \x00\n")
    assert load_yaml_file(nul, "nul.yaml", sink) is None
    got = [(d.code.id, d.span.line, d.span.col) for d in sink.diagnostics if d.span]
    assert got == [("AC1005", 2, 7), ("AC1005", 2, 4)]


def test_size_limit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOCODER_MAX_FILE_BYTES", "100")
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 200 + "\n", encoding="utf-8")
    sink = DiagnosticSink()
    assert load_yaml_file(big, "big.yaml", sink) is None
    assert [d.code.id for d in sink.diagnostics] == ["AC1004"]


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfa: 1\n")
    sink = DiagnosticSink()
    doc = load_yaml_file(path, "bom.yaml", sink)
    assert doc is not None and doc.data == {"a": 1}


def test_deep_nesting_is_a_diagnostic_not_a_crash() -> None:
    data, found = _load("a: " + "[" * 5000 + "]" * 5000 + "\n")
    assert data is None and found and found[0][0] in ("AC1001", "AC1008")
