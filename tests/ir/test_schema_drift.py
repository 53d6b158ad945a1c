"""ir/v1.schema.json is generated from the models: it must not drift, and real IR must match it."""

from __future__ import annotations

import json
from pathlib import Path

from jsonschema import Draft202012Validator

from autocoder.compiler import compile_source
from autocoder.ir import schema_gen

ROOT = Path(__file__).resolve().parents[2]


def test_committed_ir_schema_matches_the_models() -> None:
    committed = (ROOT / "ir" / "v1.schema.json").read_text(encoding="utf-8")
    assert committed == schema_gen.render(), (
        "ir/v1.schema.json drifted from autocoder/ir/models.py; "
        "run `python -m autocoder.ir.schema_gen` and review the change against ir/README.md"
    )


def test_compiled_ir_validates_against_the_ir_schema(tmp_path: Path) -> None:
    starter = ROOT / "component_templates" / "init"
    for name in ("architecture.yaml", "deployment.yaml"):
        text = (starter / name).read_text(encoding="utf-8").replace("{{NAME}}", "notes")
        (tmp_path / name).write_text(text.replace("{{DIR}}", "notes"), encoding="utf-8")
    result = compile_source(tmp_path)
    assert result.ok, [d.message for d in result.sink.diagnostics]
    schema = json.loads((ROOT / "ir" / "v1.schema.json").read_text(encoding="utf-8"))
    errors = list(Draft202012Validator(schema).iter_errors(json.loads(result.ir_text())))
    assert errors == []
