"""`autocoder validate` end to end: exit codes, reports on disk, the cache, usage errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
FAST = ("--tier", "blueprint", "--tier", "static", "--tier", "policy", "--tier", "consistency")


def autocoder(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autocoder", *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("validate-cli") / "todo-api"
    result = autocoder("generate", ROOT / "examples" / "todo-api", "-o", out)
    assert result.returncode == 0, result.stderr
    return out


@pytest.mark.slow
def test_a_clean_system_passes_writes_reports_and_is_cached(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "todo-api"
    shutil.copytree(built, out)
    first = autocoder("validate", out, *FAST)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "validate: PASSED" in first.stdout
    reports = out / "reports"
    data = json.loads((reports / "findings.json").read_text())
    schema = json.loads((ROOT / "schemas" / "report.schema.json").read_text())
    assert list(Draft202012Validator(schema).iter_errors(data)) == []
    assert data["ok"] is True
    assert {t["tier"] for t in data["tiers"]} == {"blueprint", "static", "policy", "consistency"}
    assert json.loads((reports / "findings.sarif").read_text())["version"] == "2.1.0"
    assert (reports / "junit.xml").read_text().startswith("<?xml")
    again = autocoder("validate", out, *FAST)
    assert again.returncode == 0
    assert again.stderr.count("cached (inputs unchanged)") == 4


@pytest.mark.slow
def test_a_broken_system_fails_with_located_findings(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "todo-api"
    shutil.copytree(built, out)
    models = out / "service" / "app" / "models.py"
    models.write_text(models.read_text() + "\nimport os\n")
    result = autocoder("validate", out, "--tier", "static", "--format", "json")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["ok"] is False
    codes = {(f["code"], f["location"].get("file")) for f in report["findings"]}
    assert ("F401", "service/app/models.py") in codes
    sarif = json.loads((out / "reports" / "findings.sarif").read_text())
    results = sarif["runs"][0]["results"]
    assert any(r["ruleId"] == "F401" for r in results)


def test_skips_need_a_reason_and_recorded(built: Path, tmp_path: Path) -> None:
    out = tmp_path / "todo-api"
    shutil.copytree(built, out)
    assert autocoder("validate", out, "--skip", "contract").returncode == 2
    result = autocoder(
        "validate", out, "--tier", "blueprint", "--tier", "contract", "--skip", "contract",
        "--reason", "no loopback in this sandbox",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    data = json.loads((out / "reports" / "findings.json").read_text())
    contract = next(t for t in data["tiers"] if t["tier"] == "contract")
    assert contract["status"] == "skipped"
    assert contract["reason"] == "no loopback in this sandbox"


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = autocoder("validate", tmp_path / "nothing")
    assert missing.returncode == 2 and "AC0001" in missing.stderr
    (tmp_path / "out" / "service").mkdir(parents=True)
    (tmp_path / "out" / "ir.v1.json").write_text("{}")
    unknown = autocoder("validate", tmp_path / "out", "--tier", "speed")
    assert unknown.returncode == 2 and "unknown tier(s) speed" in unknown.stderr
