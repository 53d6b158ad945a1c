"""Canonical IR: deterministic bytes, a content hash that ignores formatting, a strict reader."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from autocoder.compiler import compile_source
from autocoder.diagnostics import DiagnosticSink
from autocoder.ir.serialize import read_ir

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/architecture.yaml"))


def _copy(example: Path, tmp_path: Path) -> Path:
    target = tmp_path / example.name
    shutil.copytree(example, target)
    return target


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_examples_compile_cleanly_and_deterministically(example: Path) -> None:
    first, second = compile_source(example), compile_source(example)
    assert first.ok, [d.message for d in first.sink.diagnostics]
    counts = first.sink.counts()
    assert (counts["errors"], counts["warnings"]) == (0, 0)
    assert first.ir_text() == second.ir_text()


def test_reordering_and_reformatting_keep_the_hash(tmp_path: Path) -> None:
    source = _copy(ROOT / "examples" / "order-pipeline", tmp_path)
    before = compile_source(source).ir
    arch = source / "architecture.yaml"
    yaml = YAML(typ="safe", pure=True)
    data = yaml.load(arch.read_text(encoding="utf-8"))
    data["components"] = dict(reversed(list(data["components"].items())))
    data["types"] = dict(reversed(list(data["types"].items())))
    data["bindings"] = list(reversed(data["bindings"]))
    buffer = io.StringIO()
    yaml.default_flow_style = False  # block style, wider indents: a different layout
    yaml.indent(mapping=4, sequence=6, offset=4)
    yaml.dump(data, buffer)
    arch.write_text("# reordered and reformatted\n" + buffer.getvalue(), encoding="utf-8")
    after = compile_source(source).ir
    assert before is not None and after is not None
    assert after.content_hash == before.content_hash


def test_changing_meaning_changes_the_hash(tmp_path: Path) -> None:
    source = _copy(ROOT / "examples" / "todo-api", tmp_path)
    before = compile_source(source).ir
    arch = source / "architecture.yaml"
    arch.write_text(arch.read_text().replace("maxLength: 200", "maxLength: 300"))
    after = compile_source(source).ir
    assert before is not None and after is not None
    assert after.content_hash != before.content_hash


def _written_ir(tmp_path: Path) -> Path:
    result = compile_source(ROOT / "examples" / "todo-api")
    path = tmp_path / "ir.v1.json"
    path.write_text(result.ir_text(), encoding="utf-8")
    return path


def test_reader_accepts_what_compile_wrote(tmp_path: Path) -> None:
    sink = DiagnosticSink()
    ir = read_ir(_written_ir(tmp_path), sink)
    assert ir is not None and sink.diagnostics == []
    assert ir.system.name == "todo-api"


@pytest.mark.parametrize(
    ("version", "words"),
    [("2.0", "newer"), ("1.99", "newer"), ("0.9", "not readable"), ("one", "MAJOR.MINOR")],
)
def test_reader_refuses_unknown_versions(tmp_path: Path, version: str, words: str) -> None:
    path = _written_ir(tmp_path)
    data = json.loads(path.read_text())
    data["ir_version"] = version
    path.write_text(json.dumps(data))
    sink = DiagnosticSink()
    assert read_ir(path, sink) is None
    [diagnostic] = sink.diagnostics
    assert diagnostic.code.id == "AC6001" and words in diagnostic.message


def test_reader_refuses_edited_content_and_garbage(tmp_path: Path) -> None:
    path = _written_ir(tmp_path)
    path.write_text(path.read_text().replace('"replicas": 3', '"replicas": 30'))
    sink = DiagnosticSink()
    assert read_ir(path, sink) is None
    assert [d.code.id for d in sink.diagnostics] == ["AC6003"]
    path.write_text("{not json")
    assert read_ir(path, sink) is None
    assert sink.diagnostics[-1].code.id == "AC6002"
