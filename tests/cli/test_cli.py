"""The real CLI, end to end: outputs, stdout/stderr and exit codes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from autocoder import __version__
from autocoder.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed console command the way a user does."""
    exe = Path(sys.executable).parent / "autocoder"
    return subprocess.run([str(exe), *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"autocoder {__version__}"


def test_init_then_compile(tmp_path: Path) -> None:
    project = tmp_path / "notes"
    assert run("init", str(project)).returncode == 0
    out = tmp_path / "out"
    result = run("compile", str(project), "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert "compiled notes 0.1.0: 3 components, 1 binding, 2 environments" in result.stdout
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == [
        ".autocoder/manifest.json",
        "architecture.yaml",
        "deployment.yaml",
        "ir.v1.json",
    ]
    assert (out / "architecture.yaml").read_bytes() == (project / "architecture.yaml").read_bytes()
    # init never overwrites
    again = run("init", str(project))
    assert again.returncode == 2 and "already exists" in again.stderr


def test_compile_twice_gives_identical_bytes(tmp_path: Path) -> None:
    for name in ("a", "b"):
        assert (
            run(
                "compile", str(ROOT / "examples" / "order-pipeline"), "-o", str(tmp_path / name)
            ).returncode
            == 0
        )
    assert (tmp_path / "a" / "ir.v1.json").read_bytes() == (
        tmp_path / "b" / "ir.v1.json"
    ).read_bytes()


def test_errors_exit_1_with_positioned_caret_and_write_nothing(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT / "examples" / "todo-api", source)
    arch = source / "architecture.yaml"
    arch.write_text(arch.read_text().replace("call: todos.get", "call: todo.get"))
    out = tmp_path / "out"
    result = run("compile", "src", "-o", "out", cwd=tmp_path)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if ": error: " in line)
    lines = lines[start:]  # past the custom-logic note, which sits earlier in the file
    assert lines[0].startswith("src/architecture.yaml:")
    assert lines[0].endswith("error: route 'getTodo' calls unknown component 'todo'  [AC3001]")
    assert "call: todo.get" in lines[1] and lines[2].strip().startswith("|")
    assert "^~~~~~~~" in lines[2]
    assert "hint: did you mean 'todos'?" in result.stderr
    assert not out.exists()
    assert result.stdout == ""


def test_json_format(tmp_path: Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(ROOT / "examples" / "todo-api", source)
    arch = source / "architecture.yaml"
    arch.write_text(arch.read_text().replace("kind: store", "kind: stor"))
    result = run("compile", str(source), "-o", str(tmp_path / "out"), "--format", "json")
    assert result.returncode == 1
    doc = json.loads(result.stdout)
    assert doc["summary"]["errors"] >= 1 and doc["ok"] is False
    first = doc["diagnostics"][0]
    assert {"code", "severity", "message", "span", "stage"} <= set(first)
    ok = run(
        "compile",
        str(ROOT / "examples" / "todo-api"),
        "-o",
        str(tmp_path / "good"),
        "--format",
        "json",
    )
    assert ok.returncode == 0 and json.loads(ok.stdout)["content_hash"].startswith("sha256:")


def test_missing_source_and_bad_usage_exit_2(tmp_path: Path) -> None:
    missing = run("compile", str(tmp_path / "nope"), "-o", str(tmp_path / "out"))
    assert missing.returncode == 2 and "[AC0001]" in missing.stderr
    assert run("compile", str(ROOT / "examples" / "todo-api")).returncode == 2  # no -o
    assert run("graph", str(ROOT / "examples" / "todo-api"), "--format", "png").returncode == 2
    assert run("explain", "AC0000").returncode == 2


def test_edited_output_is_protected(tmp_path: Path) -> None:
    out = tmp_path / "out"
    example = str(ROOT / "examples" / "todo-api")
    assert run("compile", example, "-o", str(out)).returncode == 0
    (out / "ir.v1.json").write_text("{}\n")
    refused = run("compile", example, "-o", str(out))
    assert refused.returncode == 2 and "was edited since Autocoder wrote it" in refused.stderr
    assert (out / "ir.v1.json").read_text() == "{}\n"
    assert run("compile", example, "-o", str(out), "--force").returncode == 0


def test_graph_formats() -> None:
    mermaid = run("graph", str(ROOT / "examples" / "order-pipeline"))
    assert mermaid.returncode == 0
    assert mermaid.stdout.startswith("flowchart LR\n")
    assert 'c_intake -->|"submitted → in"| c_validate' in mermaid.stdout
    assert 'c_intake -.->|"list"| c_orders' in mermaid.stdout
    dot = run("graph", str(ROOT / "examples" / "order-pipeline"), "--format", "dot")
    assert dot.stdout.startswith('digraph "order-pipeline" {')
    assert '"persist" -> "orders" [label="create", style=dashed];' in dot.stdout


def test_explain_and_schema() -> None:
    explained = run("explain", "incompatible-binding")
    assert explained.returncode == 0 and explained.stdout.startswith("AC3005 incompatible-binding")
    schema = run("schema", "architecture")
    assert json.loads(schema.stdout)["title"] == "Autocoder architecture blueprint"
    path = run("schema", "ir", "--path")
    assert Path(path.stdout.strip()).name == "v1.schema.json"


def test_missing_deployment_uses_and_writes_a_default(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(ROOT / "examples" / "todo-api" / "architecture.yaml", source)
    out = tmp_path / "out"
    result = run("compile", str(source), "-o", str(out))
    assert result.returncode == 0 and "[AC4012]" in result.stderr
    shutil.copy(out / "deployment.yaml", source)
    again = run("compile", str(source), "-o", str(tmp_path / "out2"))
    assert again.returncode == 0 and "AC4012" not in again.stderr


def test_internal_error_exits_70_without_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr("autocoder.cli.tasks.compile_source", boom)
    result = CliRunner().invoke(cli, ["compile", str(ROOT / "examples" / "todo-api"), "-o", "x"])
    assert result.exit_code == 70
    assert "internal error: RuntimeError: kaboom  [AC9001]" in result.output
    assert "Traceback" not in result.output
