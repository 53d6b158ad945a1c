"""The CI integration: the composite GitHub Action (action.yml), the pre-commit hooks
(.pre-commit-hooks.yaml) and the examples of docs/ci.md.

The action's shell steps are run here as GitHub would run them (``bash -eo pipefail``, the
``${{ }}`` expressions substituted, ``GITHUB_OUTPUT`` and ``GITHUB_STEP_SUMMARY`` files) on a
pull request that removes a route; the ``uses:`` steps and the pip install are skipped (autocoder
is the one in .venv)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from autocoder.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
DOCS = ROOT / "docs" / "ci.md"
EXAMPLE = ROOT / "examples" / "todo-api"
VENV_BIN = Path(sys.executable).parent
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w.-]+)*@v\d+$")
# The keys a hook of .pre-commit-hooks.yaml may have (https://pre-commit.com/#new-hooks).
HOOK_KEYS = {
    "id",
    "name",
    "entry",
    "language",
    "files",
    "exclude",
    "types",
    "types_or",
    "exclude_types",
    "always_run",
    "fail_fast",
    "verbose",
    "pass_filenames",
    "require_serial",
    "description",
    "language_version",
    "minimum_pre_commit_version",
    "args",
    "stages",
}
HOOK_STAGES = {
    "commit-msg",
    "manual",
    "post-checkout",
    "post-commit",
    "post-merge",
    "post-rewrite",
    "pre-commit",
    "pre-merge-commit",
    "pre-push",
    "pre-rebase",
    "prepare-commit-msg",
}


def load(path: Path) -> Any:
    return YAML(typ="safe").load(path.read_text(encoding="utf-8"))


def steps() -> list[dict[str, Any]]:
    return list(load(ACTION)["runs"]["steps"])


# ---------------------------------------------------------------- running the action locally


@dataclass
class Workflow:
    """The expression contexts of one run of the action, and what its steps did."""

    context: dict[str, Any]
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    codes: dict[str, int] = field(default_factory=dict)  # step name -> exit code of its script
    skipped: list[str] = field(default_factory=list)  # names of steps not run here
    failed: bool = False
    summary: str = ""  # what the steps appended to GITHUB_STEP_SUMMARY
    logs: str = ""  # what the steps printed, for the failure messages

    def value(self, path: str) -> str:
        """A context path (``inputs.base``); an output a step did not set is '' as on GitHub,
        anything else unknown fails the test."""
        head, *rest = path.split(".")
        if head == "steps":
            found: Any = {k: {"outputs": v} for k, v in self.outputs.items()}
        else:
            found = self.context[head]
        for part in rest:
            if head == "steps" and (not isinstance(found, dict) or part not in found):
                return ""
            found = found[part]
        return str(found)

    def substitute(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m.group(1)), text)

    def condition(self, expression: str | None) -> bool:
        """The subset of GitHub's `if:` language the action uses: status functions, `&&`,
        comparisons of a context with a string literal."""
        if expression is None:
            return not self.failed
        result = True
        for term in (t.strip() for t in EXPRESSION.sub(r"\1", expression).split("&&")):
            if term == "always()":
                continue
            if term == "success()":
                result = result and not self.failed
                continue
            match = re.fullmatch(r"([\w.-]+)\s*(==|!=)\s*'([^']*)'", term)
            assert match, f"the test cannot evaluate `if: {expression}`"
            equal = self.value(match.group(1)) == match.group(3)
            result = result and (equal if match.group(2) == "==" else not equal)
        if "always()" not in expression and "failure()" not in expression:
            result = result and not self.failed
        return result


def run_action(repo: Path, tmp: Path, *, base_sha: str, inputs: dict[str, str]) -> Workflow:
    action = load(ACTION)
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    flow = Workflow(
        {
            "github": {
                "action_path": str(ROOT),
                "workspace": str(repo),
                "event": {"pull_request": {"base": {"sha": base_sha}}},
            },
            "inputs": {},
        }
    )
    flow.context["inputs"] = {
        name: flow.substitute(inputs.get(name, default)) for name, default in defaults.items()
    }
    summary = tmp / "step-summary.md"
    summary.touch()
    for number, step in enumerate(action["runs"]["steps"]):
        name = step.get("name", f"step {number}")
        if "uses" in step or "pip install" in step.get("run", ""):
            flow.skipped.append(name)
            continue
        if not flow.condition(step.get("if")):
            flow.skipped.append(name)
            continue
        assert step.get("shell") == "bash", f"{name}: a run step needs `shell: bash`"
        output = tmp / f"output-{number}"
        output.touch()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
        env.update(
            PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
            GITHUB_OUTPUT=str(output),
            GITHUB_STEP_SUMMARY=str(summary),
            GITHUB_WORKSPACE=str(repo),
        )
        env.update({k: flow.substitute(str(v)) for k, v in step.get("env", {}).items()})
        script = tmp / f"step-{number}.sh"
        script.write_text(flow.substitute(step["run"]), encoding="utf-8")
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        flow.codes[name] = done.returncode
        flow.logs += f"--- {name} ({done.returncode})\n{done.stdout}{done.stderr}"
        flow.failed = flow.failed or done.returncode != 0
        if "id" in step:
            flow.outputs[step["id"]] = dict(
                line.split("=", 1) for line in output.read_text().splitlines() if "=" in line
            )
    flow.summary = summary.read_text(encoding="utf-8")
    return flow


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        [
            "git",
            "-c",
            "user.name=Autocoder Tests",
            "-c",
            "user.email=tests@autocoder.invalid",
            "-c",
            "commit.gpgsign=false",
            *args,
        ],
        cwd=repo,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@pytest.fixture
def pull_request(tmp_path: Path) -> tuple[Path, str]:
    """A repository of the todo-api example with two commits, the second removing the
    `DELETE /todos/{id}` route; returns the repository and the first commit."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "todo-api")
    base = git(repo, "rev-parse", "HEAD")
    yaml = YAML()
    architecture = yaml.load((repo / "architecture.yaml").read_text(encoding="utf-8"))
    routes = architecture["components"]["api"]["config"]["routes"]
    routes[:] = [r for r in routes if r["operation_id"] != "deleteTodo"]
    slos = architecture["policy"]["slos"]
    slos[:] = [s for s in slos if s["route"] != "deleteTodo"]
    with (repo / "architecture.yaml").open("w", encoding="utf-8") as stream:
        yaml.dump(architecture, stream)
    git(repo, "commit", "-q", "-am", "remove DELETE /todos/{id}")
    return repo, base


# ---------------------------------------------------------------- tests


def test_action_is_a_composite_action_with_the_documented_interface() -> None:
    action = load(ACTION)
    assert action["runs"]["using"] == "composite"
    defaults = {name: spec.get("default") for name, spec in action["inputs"].items()}
    assert defaults == {
        "source": ".",
        "base": "${{ github.event.pull_request.base.sha }}",
        "fail-on": "breaking",
        "python-version": "3.11",  # a string: YAML would read 3.10 as 3.1
        "reports": "autocoder-reports",
        "version": "",
    }
    assert all(spec.get("description") for spec in action["inputs"].values())
    assert set(action["outputs"]) == {"exit-code", "summary"}
    assert action["outputs"]["exit-code"]["value"] == "${{ steps.check.outputs.exit-code }}"
    assert action["outputs"]["summary"]["value"] == "${{ steps.check.outputs.summary }}"


def test_action_steps_are_ordered_pinned_and_take_inputs_through_env() -> None:
    found = steps()
    uses = [s["uses"] for s in found if "uses" in s]
    assert uses == ["actions/setup-python@v5", "github/codeql-action/upload-sarif@v3"]
    assert all(PINNED.match(u) for u in uses)
    names = [s.get("id") or s.get("uses") or s["run"].split()[0] for s in found]
    check = names.index("check")
    assert names[0] == "actions/setup-python@v5"
    assert any("pip install" in s.get("run", "") for s in found[1:check])
    upload = next(s for s in found if s.get("uses", "").startswith("github/codeql-action/"))
    assert found.index(upload) > check
    assert "always()" in upload["if"] and "steps.check.outputs.sarif" in upload["if"]
    assert upload["with"]["sarif_file"] == "${{ steps.check.outputs.sarif }}"
    # the job fails in the last step, after the SARIF and the summary were uploaded
    assert "exit" in found[-1]["run"] and "steps.check.outputs.exit-code" in str(found[-1]["env"])
    for step in found:
        if "run" in step:
            assert step["shell"] == "bash"
            # an input inlined in a script is a script injection; they go through `env:`
            assert "${{" not in step["run"], step.get("name")


@pytest.mark.slow
def test_action_fails_a_pull_request_that_removes_a_route(
    pull_request: tuple[Path, str], tmp_path: Path
) -> None:
    repo, base = pull_request
    flow = run_action(repo, tmp_path, base_sha=base, inputs={})
    assert flow.context["inputs"]["base"] == base  # the pull request's base by default
    uploaded = "Upload the diff to code scanning"
    assert flow.skipped == ["Set up Python", "Install autocoder", uploaded]
    check = flow.outputs["check"]
    # the check step keeps the code and succeeds, so that the reports are uploaded
    assert flow.codes["autocoder check"] == 0, flow.logs
    assert check["exit-code"] == "1", f"a removed route is a breaking change\n{flow.logs}"
    upload = next(s for s in steps() if "upload-sarif" in s.get("uses", ""))
    assert flow.condition(upload["if"]) is True
    sarif = repo / flow.substitute(upload["with"]["sarif_file"])
    assert sarif == repo / "autocoder-reports" / "diff.sarif"
    results = json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert "api-route-removed" in {r["ruleId"] for r in results}
    assert check["summary"] == "autocoder-reports/summary.md"
    summary = flow.summary
    assert summary == (repo / check["summary"]).read_text(encoding="utf-8")
    assert summary.startswith("## Autocoder check")
    assert "`api-route-removed`" in summary and "DELETE /v1/todos/{id}" in summary
    assert flow.codes["Verdict"] == 1


@pytest.mark.slow
def test_action_without_a_base_checks_without_a_diff(
    pull_request: tuple[Path, str], tmp_path: Path
) -> None:
    repo, _ = pull_request
    flow = run_action(repo, tmp_path, base_sha="", inputs={})  # a push: no pull request
    assert flow.outputs["check"]["exit-code"] == "0", flow.logs
    assert "sarif" not in flow.outputs["check"]
    assert "Upload the diff to code scanning" in flow.skipped
    assert not (repo / "autocoder-reports" / "diff.sarif").exists()
    assert "Blueprint changes" not in flow.summary
    assert "| static | passed |" in flow.summary
    assert flow.codes["Verdict"] == 0


def test_pre_commit_hooks_parse_and_match_the_blueprint_files() -> None:
    hooks = {hook["id"]: hook for hook in load(HOOKS)}
    assert set(hooks) == {"autocoder-compile", "autocoder-diff"}
    for hook in hooks.values():
        assert set(hook) <= HOOK_KEYS, set(hook) - HOOK_KEYS
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["language"] == "python" and hook["pass_filenames"] is False
        assert set(hook.get("stages", [])) <= HOOK_STAGES
        program, command = hook["entry"].split()
        assert program == "autocoder" and command in cli.commands  # type: ignore[attr-defined]
        files = re.compile(hook["files"])
        for path in ("architecture.yaml", "blueprints/deployment.yml", "a/b/architecture.yml"):
            assert files.search(path), path
        for path in ("README.md", "my-architecture.yaml", "architecture.yaml.bak", "x/ir.v1.json"):
            assert not files.search(path), path
    assert hooks["autocoder-compile"]["entry"] == "autocoder compile"
    assert hooks["autocoder-diff"]["stages"] == ["manual"]


def yaml_blocks(markdown: str) -> list[Any]:
    return [
        YAML(typ="safe").load(block)
        for block in re.findall(r"```ya?ml\n(.*?)```", markdown, flags=re.DOTALL)
    ]


def test_docs_examples_use_the_action_and_hooks_as_they_are() -> None:
    blocks = yaml_blocks(DOCS.read_text(encoding="utf-8"))
    workflows = [b for b in blocks if isinstance(b, dict) and "jobs" in b]
    configs = [b for b in blocks if isinstance(b, dict) and "repos" in b]
    assert workflows and configs
    action_inputs = set(load(ACTION)["inputs"])
    for workflow in workflows:
        for job in workflow["jobs"].values():
            assert job["permissions"]["security-events"] == "write"
            checkout = next(s for s in job["steps"] if "actions/checkout" in s.get("uses", ""))
            assert checkout["with"]["fetch-depth"] == 0
            ours = [s for s in job["steps"] if "/autocoder@" in s.get("uses", "")]
            assert ours
            for step in ours:
                assert set(step.get("with", {})) <= action_inputs
    hook_ids = {hook["id"] for hook in load(HOOKS)}
    for config in configs:
        for repo in config["repos"]:
            assert {hook["id"] for hook in repo["hooks"]} <= hook_ids
