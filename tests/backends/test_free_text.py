"""Free text in blueprints (descriptions, summaries) reaches generated Python only as inert
docstring text: a description written to break out of its docstring stays text."""

from __future__ import annotations

import ast
from pathlib import Path

from ruamel.yaml import YAML

from autocoder.backends.python_service import service_drafts
from autocoder.compiler import compile_texts, dump_yaml

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "todo-api"
ESCAPE = 'x"""\nprint("INJECTED")\n"""'
TRAILING = 'ends with a quote" and a backslash \\'


def test_descriptions_cannot_become_code() -> None:
    architecture = YAML(typ="safe").load((EXAMPLE / "architecture.yaml").read_text())
    architecture["components"]["api"]["description"] = ESCAPE
    architecture["components"]["api"]["logic"]["description"] = ESCAPE
    architecture["types"]["Todo"]["description"] = TRAILING
    architecture["types"]["TodoStats"]["description"] = ESCAPE
    for route in architecture["components"]["api"]["config"]["routes"]:
        route["summary"] = ESCAPE
    result = compile_texts(dump_yaml(architecture, ""), (EXAMPLE / "deployment.yaml").read_text())
    assert result.ok and result.ir is not None
    drafts = service_drafts(result.ir)  # ruff formats every file: each still parses
    python = {d.path: d.content.decode() for d in drafts if d.path.endswith(".py")}
    injected = [
        path
        for path, text in python.items()
        for node in ast.walk(ast.parse(text))
        if isinstance(node, ast.Call)
        and any(isinstance(a, ast.Constant) and a.value == "INJECTED" for a in node.args)
    ]
    assert injected == []
    models = python["service/app/models.py"]
    assert 'print(\\"INJECTED\\")' in models  # kept, as text of the docstring
