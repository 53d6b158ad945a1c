"""Generated pydantic models: deterministic, lint-clean, importable, and as strict as the types."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pydantic
import pytest

from autocoder.backends.python_service import model_drafts
from autocoder.compiler import compile_source

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p.parent for p in (ROOT / "examples").glob("*/architecture.yaml"))


def _generate(example: Path) -> str:
    result = compile_source(example)
    assert result.ir is not None
    [draft] = model_drafts(result.ir)
    return draft.content.decode("utf-8")


def _load(text: str, tmp_path: Path, name: str) -> ModuleType:
    path = tmp_path / f"{name}.py"
    path.write_text(text, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # pydantic resolves forward references through sys.modules
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_models_are_deterministic_lint_clean_and_importable(example: Path, tmp_path: Path) -> None:
    text = _generate(example)
    assert text == _generate(example)
    path = tmp_path / "models.py"
    path.write_text(text, encoding="utf-8")
    # The generated project's ruff configuration leaves long lines to the formatter (E501).
    lint = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "E,F,W,I,B,UP,SIM",
            "--ignore",
            "E501",
            str(path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert lint.returncode == 0, lint.stdout
    _load(text, tmp_path, f"models_{example.name.replace('-', '_')}")


def test_todo_models_enforce_the_blueprint(tmp_path: Path) -> None:
    models = _load(_generate(ROOT / "examples" / "todo-api"), tmp_path, "todo_models")
    todo = models.Todo(
        id="0b8f4c3e-6c1a-4a57-9a51-0a1e1d2c3b4a",
        title="Renew the certificate",
        created_at="2026-11-25T10:00:00Z",
        updated_at="2026-11-25T10:00:00Z",
    )
    assert todo.priority == "normal" and todo.done is False and todo.labels == []
    for bad in (
        {"title": ""},
        {"title": "x" * 201},
        {"priority": "someday"},
        {"labels": ["Not Lower"]},
        {"unknown": 1},
    ):
        with pytest.raises(pydantic.ValidationError):
            models.Todo(**{**todo.model_dump(), **bad})
    assert models.Todo(**{**todo.model_dump(), "due_on": None}).due_on is None
