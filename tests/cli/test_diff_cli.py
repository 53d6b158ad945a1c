"""`autocoder diff`, end to end: every side kind (blueprints, OUT, IR file, git revisions in a
real repository), every report format, suppressions, --fail-on, semver and bad input."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

ROOT = Path(__file__).resolve().parents[2]
TODO = ROOT / "examples" / "todo-api"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "autocoder", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=300,
    )


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def edited(tmp: Path, old: str, new: str, name: str = "head") -> Path:
    copy = tmp / name
    shutil.copytree(TODO, copy)
    path = copy / "architecture.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))
    return copy


REMOVE_URGENT = ("enum: [low, normal, high, urgent]", "enum: [low, normal, high]")


def test_breaking_change_fails_with_its_location(tmp_path: Path) -> None:
    head = edited(tmp_path, *REMOVE_URGENT)
    done = run("diff", str(TODO), str(head))
    assert done.returncode == 1
    assert "breaking: [type-enum-value-removed] type Priority: enum value 'urgent'" in done.stdout
    assert "architecture.yaml:12:5" in done.stdout and "FAILED" in done.stdout
    assert "semver-major-required" in done.stdout


def test_compatible_change_passes_and_potentially_breaking_fails_on_request(tmp_path: Path) -> None:
    head = edited(tmp_path, "version: 1.4.0", "version: 1.5.0")
    head_dep = head / "deployment.yaml"
    head_dep.write_text(head_dep.read_text().replace("OTEL_SERVICE_NAME: todo-api\n", ""))
    assert run("diff", str(TODO), str(head)).returncode == 0
    strict = run("diff", str(TODO), str(head), "--fail-on", "potentially-breaking")
    assert strict.returncode == 1 and "deploy-env-removed" in strict.stdout


def test_reports_in_every_format(tmp_path: Path) -> None:
    head = edited(tmp_path, *REMOVE_URGENT)
    data = json.loads(run("diff", str(TODO), str(head), "--format", "json").stdout)
    assert data["failed"] and data["counts"]["breaking"] == 2
    first = next(c for c in data["changes"] if c["rule"] == "type-enum-value-removed")
    assert first["base"]["line"] == 12 and len(first["fingerprint"]) == 16
    sarif = json.loads(run("diff", str(TODO), str(head), "--format", "sarif").stdout)
    run_ = sarif["runs"][0]
    assert sarif["version"] == "2.1.0" and run_["tool"]["driver"]["rules"]
    assert {r["level"] for r in run_["results"]} == {"error"}
    assert run_["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] > 0
    junit_xml = run("diff", str(TODO), str(head), "--format", "junit").stdout
    junit = ET.fromstring(junit_xml)  # noqa: S314 (our own output)
    assert junit.get("failures") == "2"
    markdown = run("diff", str(TODO), str(head), "--format", "markdown").stdout
    assert markdown.startswith("### :x: Blueprint changes: 2 breaking")
    assert "| breaking | `type-enum-value-removed` |" in markdown
    log = run("diff", str(TODO), str(head), "--changelog").stdout
    assert log.startswith("## 1.4.0") and "### Breaking changes" in log


def test_a_suppression_with_a_reason_waives_a_change(tmp_path: Path) -> None:
    head = edited(tmp_path, *REMOVE_URGENT)
    path = head / "architecture.yaml"
    path.write_text(
        path.read_text().replace(
            "policy:\n",
            "policy:\n  suppressions:\n"
            "    - {code: type-enum-value-removed, reason: Nobody ever used urgent.}\n"
            "    - {code: semver-major-required, reason: Released with the next major.}\n",
            1,
        )
    )
    done = run("diff", str(TODO), str(head))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "(suppressed: Nobody ever used urgent.)" in done.stdout
    assert "1 suppressed" in done.stdout  # every break accepted: no semver finding either
    assert "note: suppression of semver-major-required matched no change" in done.stdout
    expired = path.read_text().replace(
        "reason: Nobody ever used urgent.}",
        "reason: Nobody ever used urgent., expires: '2020-01-01'}",
    )
    path.write_text(expired)
    late = run("diff", str(TODO), str(head))
    assert late.returncode == 1 and "expired on 2020-01-01" in late.stdout


def test_git_revisions_of_a_real_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(TODO, repo / "blueprints")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    path = repo / "blueprints" / "architecture.yaml"
    text = path.read_text()
    start = text.index("        - method: DELETE")
    end = text.index("    capabilities:", start)
    path.write_text(text[:start] + text[end:])
    git(repo, "commit", "-q", "-am", "remove the delete route")
    done = run("diff", "git:HEAD~1:blueprints", "git:HEAD:blueprints", cwd=repo)
    assert done.returncode == 1, done.stderr
    assert "api-route-removed" in done.stdout and "DELETE /v1/todos/{id}" in done.stdout
    assert "HEAD~1:blueprints/architecture.yaml:" in done.stdout  # located in its revision
    worktree = run("diff", "git:main~1:blueprints", "blueprints", cwd=repo)
    assert worktree.returncode == 1 and "api-route-removed" in worktree.stdout
    absolute = run("diff", f"git:HEAD~1:{repo / 'blueprints'}", "blueprints", cwd=repo)
    assert absolute.returncode == 1 and "api-route-removed" in absolute.stdout
    outside = run("diff", f"git:HEAD~1:{tmp_path}", "blueprints", cwd=repo)
    assert outside.returncode == 2 and "is not in a git repository" in outside.stderr
    sarif = json.loads(
        run("diff", "git:HEAD~1:blueprints", "blueprints", "--format", "sarif", cwd=repo).stdout
    )
    (removed,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "api-route-removed"]
    uri = removed["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "blueprints/architecture.yaml"  # a path code scanning can place
    unknown = run("diff", "git:nope:blueprints", "blueprints", cwd=repo)
    assert unknown.returncode == 2 and "unknown git revision 'nope'" in unknown.stderr
    missing = run("diff", "git:HEAD:nowhere", "blueprints", cwd=repo)
    assert missing.returncode == 2 and "nowhere does not exist at HEAD" in missing.stderr


def test_git_sides_ignore_export_rules_and_name_revisions_with_slashes(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(TODO, repo / "bp")
    (repo / ".gitattributes").write_text("bp/deployment.yaml export-ignore\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "one")
    git(repo, "branch", "release/1.4")
    path = repo / "bp" / "architecture.yaml"
    path.write_text(path.read_text().replace("enum: [low, normal, high, urgent]", "enum: [low]"))
    done = run("diff", "git:release/1.4:bp", "bp", "--format", "sarif", cwd=repo)
    results = json.loads(done.stdout)["runs"][0]["results"]
    rules = {r["ruleId"] for r in results}
    assert "type-enum-value-removed" in rules
    assert not any(r.startswith("deploy-") for r in rules)  # the base kept its deployment.yaml
    uris = {
        loc["physicalLocation"]["artifactLocation"]["uri"]
        for r in results
        for loc in r.get("locations", [])
    }
    assert uris == {"bp/architecture.yaml"}


def test_a_base_that_no_longer_compiles_names_its_revision_and_file(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(TODO, repo / "bp")
    path = repo / "bp" / "architecture.yaml"
    good = path.read_text()
    path.write_text(good.replace("call: todos.get", "call: todoz.get", 1))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "broken")
    path.write_text(good)
    done = run("diff", "git:HEAD:bp", "bp", cwd=repo)
    assert done.returncode == 1
    assert "BASE git:HEAD:bp does not compile" in done.stderr
    assert "HEAD:bp/architecture.yaml:" in done.stderr and "AC3001" in done.stderr
    assert "Traceback" not in done.stderr


def test_ir_files_and_outputs_are_sides_and_unknown_versions_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("compile", str(TODO), "-o", str(out)).returncode == 0
    assert run("diff", str(out / "ir.v1.json"), str(out)).returncode == 0
    future = json.loads((out / "ir.v1.json").read_text())
    future["ir_version"] = "9.0"
    (tmp_path / "future.json").write_text(json.dumps(future))
    done = run("diff", str(out / "ir.v1.json"), str(tmp_path / "future.json"))
    assert done.returncode == 1 and "AC6001" in done.stderr
    assert run("diff", str(tmp_path / "absent"), str(out)).returncode == 2


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_no_changes(fmt: str) -> None:
    done = run("diff", str(TODO), str(TODO), "--format", fmt)
    assert done.returncode == 0
    if fmt == "json":
        assert json.loads(done.stdout)["changes"] == []


@pytest.mark.slow
def test_check_skips_the_diff_of_blueprints_new_in_the_change(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "README.md").write_text("before the blueprints\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "empty")
    shutil.copytree(TODO, repo / "bp")
    reports = tmp_path / "reports"
    done = run("check", "bp", "--base", "HEAD", "--reports", str(reports), cwd=repo)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "diff: skipped" in done.stderr
    summary = (reports / "summary.md").read_text()
    assert "skipped" in summary and "| blueprint | passed |" in summary
    assert not (reports / "diff.sarif").exists()
