"""The blueprint, static, policy and consistency tiers: each passes on a freshly built todo-api
and fails with the right finding on a copy broken on purpose."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from tests_support import require_tool

from autocoder.backends.deploy import render
from autocoder.backends.deploy.yamlout import load_all
from autocoder.cli.service import ensure_service_python
from autocoder.diagnostics import DiagnosticSink
from autocoder.ir.serialize import read_ir
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Finding, Severity, Status, TierResult
from autocoder.validate.tiers import blueprint, consistency, policy, static

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".ci" / "tools" / "bin"
EXAMPLE = ROOT / "examples" / "todo-api"
ENVIRONMENTS = ["dev", "prod", "staging"]
BASE_DEPLOYMENT = "deploy/kubernetes/base/deployment.yaml"
LOGIC = "service/app/logic/api.py"


def build(source: Path, out: Path) -> Path:
    env = dict(os.environ)
    if TOOLS.is_dir():
        env["PATH"] = f"{TOOLS}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        [sys.executable, "-m", "autocoder", "build", str(source), "-o", str(out), "--no-validate"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(EXAMPLE, tmp_path_factory.mktemp("todo-api") / "out")


@pytest.fixture(scope="module")
def built_without_logic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """todo-api built from blueprints without their logic/ folder: the module is the template."""
    source = tmp_path_factory.mktemp("source") / "todo-api"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("logic"))
    return build(source, tmp_path_factory.mktemp("no-logic") / "out")


@pytest.fixture(scope="module")
def service_python(built: Path, tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Path:
    """The service's interpreter, made once per session and shared by the xdist workers (a file
    lock keeps them from building it twice); AUTOCODER_SERVICE_VENV reuses a cached one."""
    root = tmp_path_factory.getbasetemp()
    if worker_id != "master":
        root = root.parent
    cached = os.environ.get("AUTOCODER_SERVICE_VENV")
    venv_dir = Path(cached) if cached else root / "tiers-service-venv"
    with (root / "tiers-service-venv.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return ensure_service_python(built / "service", venv_dir)


def copy_of(out: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "out"
    shutil.copytree(out, copy, ignore=shutil.ignore_patterns(".venv"))
    return copy


def context(out: Path, python: Path | None = None, **env: str) -> ValidateContext:
    sink = DiagnosticSink()
    ir = read_ir(out / "ir.v1.json", sink)
    assert ir is not None, sink.diagnostics
    return ValidateContext(out=out, ir=ir, python=python, env=env)


def edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= count, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, 1) if needle in line)


def errors(result: TierResult) -> list[Finding]:
    return [f for f in result.findings if f.severity is Severity.ERROR]


def assert_passed(result: TierResult) -> None:
    assert result.errors == [], [f.to_json() for f in result.errors]
    assert result.not_checked == []
    assert result.checked
    assert result.status is Status.PASSED
    assert result.seconds > 0


# --- clean output passes ------------------------------------------------------------------


def test_blueprint_passes_on_the_clean_output(built: Path) -> None:
    result = blueprint.run(context(built))
    assert_passed(result)
    assert result.tier == "blueprint"
    # The compiler's note about the custom logic module is kept, at note level.
    (note,) = result.findings
    assert (note.code, note.severity, note.rule_name) == (
        "AC3024",
        Severity.NOTE,
        "logic-unimplemented",
    )
    assert note.location.file == "architecture.yaml" and note.location.line > 0


@pytest.mark.slow
def test_static_passes_on_the_clean_output(built: Path, service_python: Path) -> None:
    result = static.run(context(built, service_python))
    assert_passed(result)
    assert result.findings == []
    assert [line.split(":")[0] for line in result.checked] == [
        "ruff check",
        "ruff format",
        "bandit",
        "custom logic",
    ]


def test_policy_passes_on_the_clean_output(built: Path) -> None:
    result = policy.run(context(built))
    assert_passed(result)
    assert result.findings == []


def test_policy_passes_without_kubectl(built: Path, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    result = policy.run(context(built, PATH=str(empty)))
    assert_passed(result)
    assert any("kubectl kustomize: not on PATH" in line for line in result.checked)


def test_consistency_passes_on_the_clean_output(built: Path) -> None:
    result = consistency.run(context(built))
    assert_passed(result)
    assert result.findings == []


def test_the_python_rendering_is_what_kubectl_renders(built: Path) -> None:
    kubectl = shutil.which("kubectl") or shutil.which("kubectl", path=str(TOOLS))
    require_tool("kubectl", kubectl is not None, "install kubectl (with kustomize) on PATH")
    assert kubectl is not None
    assert render.environments(built / "deploy") == ENVIRONMENTS
    for env in ENVIRONMENTS:
        overlay = built / "deploy" / render.overlay_dir(env)
        done = subprocess.run(
            [kubectl, "kustomize", str(overlay)], capture_output=True, text=True, check=True
        )
        kubectl_objects = load_all(done.stdout)
        assert render.canonical(render.render_overlay(built / "deploy", env)) == (
            render.canonical(kubectl_objects)
        ), env


# --- static -------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_ruff_error_fails_static(built: Path, service_python: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    models = out / "service" / "app" / "models.py"
    with models.open("a", encoding="utf-8") as handle:
        handle.write("import os\n")
    (out / "service" / "app" / "extra.py").write_text("x=( 1 )\n", encoding="utf-8")
    result = static.run(context(out, service_python))
    assert result.status is Status.FAILED
    unused = next(f for f in result.findings if f.code == "F401")
    assert unused.severity is Severity.ERROR
    assert unused.rule_name == "unused-import"
    assert (unused.location.file, unused.location.line) == (
        "service/app/models.py",
        len(models.read_text().splitlines()),
    )
    assert "`os` imported but unused" in unused.message
    assert unused.tier == "static"
    unformatted = [f for f in result.findings if f.code == "unformatted"]
    assert [f.location.file for f in unformatted] == ["service/app/extra.py"]
    assert unformatted[0].location.line == 1
    assert result.not_checked == []


@pytest.mark.slow
def test_a_bandit_finding_fails_static(built: Path, service_python: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    logic = out / LOGIC
    edit(logic, "import datetime\n", "import datetime\nimport subprocess\n")
    with logic.open("a", encoding="utf-8") as handle:
        handle.write("\n\ndef run(x: str) -> int:\n    return subprocess.call(x, shell=True)\n")
    result = static.run(context(out, service_python))
    assert result.status is Status.FAILED
    by_code = {f.code: f for f in result.findings}
    shell = by_code["B602"]
    assert shell.severity is Severity.ERROR
    assert shell.rule_name == "subprocess_popen_with_shell_equals_true"
    assert (shell.location.file, shell.location.line) == (LOGIC, line_of(logic, "shell=True"))
    assert shell.hint and shell.hint.startswith("https://")
    # bandit's LOW severity is a warning; ruff's copy of the rule is an error too.
    assert by_code["B404"].severity is Severity.WARNING
    assert by_code["S602"].severity is Severity.ERROR
    assert result.not_checked == []


@pytest.mark.slow
def test_unimplemented_logic_fails_static(built_without_logic: Path, service_python: Path) -> None:
    result = static.run(context(built_without_logic, service_python))
    assert result.status is Status.FAILED
    (finding,) = errors(result)
    logic = built_without_logic / LOGIC
    assert finding.code == "logic-unimplemented"
    assert finding.message == (
        "custom logic api.get_todo_stats is not implemented: write get_todo_stats() in "
        "service/app/logic/api.py"
    )
    assert (finding.location.file, finding.location.line) == (LOGIC, line_of(logic, "class "))
    assert result.not_checked == []


@pytest.mark.slow
def test_a_stub_method_is_unimplemented(built: Path, service_python: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    logic = out / LOGIC
    text = logic.read_text(encoding="utf-8")
    head = text[: text.index("    async def get_todo_stats")]
    logic.write_text(
        head + "    async def get_todo_stats(self) -> TodoStats:\n"
        '        """Later."""\n'
        "        raise NotImplementedError\n",
        encoding="utf-8",
    )
    result = static.run(context(out, service_python))
    found = [f for f in result.findings if f.code == "logic-unimplemented"]
    assert [(f.location.file, f.location.line) for f in found] == [
        (LOGIC, line_of(logic, "async def get_todo_stats"))
    ]
    assert "api.get_todo_stats is not implemented" in found[0].message


@pytest.mark.slow
def test_a_logic_module_that_cannot_be_imported_fails_static(
    built: Path, service_python: Path, tmp_path: Path
) -> None:
    out = copy_of(built, tmp_path)
    edit(out / LOGIC, "from ..models import TodoStats", "from ..models import TodoStatz")
    result = static.run(context(out, service_python))
    broken = [f for f in result.findings if f.code == "logic-import-failed"]
    assert [f.location.file for f in broken] == [LOGIC]
    assert "TodoStatz" in broken[0].message
    assert result.status is Status.FAILED


def test_a_tool_that_cannot_run_is_not_checked(built: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    edit(out / "service" / "pyproject.toml", "[tool.ruff]", "[tool.ruff]\nline-length = 'x'")
    (out / "service" / "app" / "logic" / "api.py").unlink()  # no interpreter needed
    result = static.run(context(out))
    assert result.status is Status.FAILED
    assert any(line.startswith("ruff check: exited with 2") for line in result.not_checked)
    assert any(f.code == "logic-unimplemented" for f in result.findings)


# --- blueprint ----------------------------------------------------------------------------


def test_a_blueprint_error_fails_blueprint(built: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    edit(out / "architecture.yaml", "  description: A team todo", "  descripton: A team todo")
    result = blueprint.run(context(out))
    assert result.status is Status.FAILED
    (error, *_) = errors(result)
    assert (error.code, error.rule_name) == ("AC2002", "unknown-key")
    assert "descripton" in error.message
    assert (error.location.file, error.location.line) == (
        "architecture.yaml",
        line_of(out / "architecture.yaml", "descripton"),
    )
    assert error.hint


def test_a_stale_ir_fails_blueprint(built: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    edit(out / "architecture.yaml", "protected by API keys.", "protected by API keys, fast.")
    result = blueprint.run(context(out))
    assert result.status is Status.FAILED
    (stale,) = errors(result)
    assert stale.code == "AC6003"
    assert stale.message == "ir.v1.json is stale: it is not the IR the blueprints compile to"
    assert stale.location.file == "ir.v1.json"


def test_an_edited_ir_fails_blueprint(built: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    edit(out / "ir.v1.json", '"version": "1.4.0"', '"version": "1.4.1"')
    result = blueprint.run(ValidateContext(out=out, ir=context(built).ir))
    (edited,) = errors(result)
    assert (edited.code, edited.location.file) == ("AC6003", "ir.v1.json")
    assert "does not match" in edited.message


# --- policy -------------------------------------------------------------------------------


def test_a_privileged_container_fails_policy(built: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    edit(out / BASE_DEPLOYMENT, "privileged: false", "privileged: true")
    result = policy.run(context(out))
    assert result.status is Status.FAILED
    assert result.not_checked == []
    assert [(f.code, f.location.file) for f in result.findings] == [
        ("k8s-no-privileged", f"deploy/kubernetes/overlays/{env}") for env in ENVIRONMENTS
    ]
    finding = result.findings[0]
    assert finding.message == "Deployment/todo-api: a container runs privileged"
    assert finding.rule_name == "No container runs privileged"
    assert finding.hint == "Remove securityContext.privileged or set it to false."
    assert finding.severity is Severity.ERROR


def test_a_dockerfile_breach_fails_policy(built: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    dockerfile = out / "deploy" / "Dockerfile"
    edit(dockerfile, "USER 10001:10001", "USER root")
    result = policy.run(context(out))
    assert result.status is Status.FAILED
    (finding,) = result.errors
    assert finding.code == "df-non-root-user"
    assert (finding.location.file, finding.location.line) == (
        "deploy/Dockerfile",
        line_of(dockerfile, "USER root"),
    )
    assert finding.message == "the final stage runs as root (a numeric, non-zero UID is required)"


def test_an_unrenderable_overlay_fails_policy(built: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    patch = out / "deploy/kubernetes/overlays/prod/patches/deployment.yaml"
    edit(patch, "path: /spec/", "path: /spec/nowhere/")
    result = policy.run(context(out))
    assert result.status is Status.FAILED
    (broken,) = result.errors
    assert (broken.code, broken.location.file) == ("AC7001", "deploy/kubernetes/overlays/prod")
    assert "there is no 'nowhere'" in broken.message


def test_an_unsupported_kustomize_feature_is_not_checked(built: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    kustomization = out / "deploy/kubernetes/overlays/staging/kustomization.yaml"
    with kustomization.open("a", encoding="utf-8") as handle:
        handle.write("commonLabels:\n  team: platform\n")
    for tier in (policy, consistency):
        result = tier.run(context(out))
        assert result.status is Status.FAILED, tier.NAME
        (reason,) = result.not_checked
        assert reason.startswith("deploy/kubernetes/overlays/staging: cannot be rendered")
        assert "commonLabels is not supported" in reason
        assert result.errors == [], tier.NAME  # dev and prod were still checked


def test_a_kubectl_disagreement_fails_policy(built: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = os.environ.get("PATH", "") + os.pathsep + str(TOOLS)
    require_tool("kubectl", shutil.which("kubectl", path=path) is not None, "install kubectl")
    real = render.render_overlay
    monkeypatch.setattr(
        policy,
        "render_overlay",
        lambda root, env: [o for o in real(root, env) if o["kind"] != "Service"],
    )
    result = policy.run(context(built, PATH=path))
    assert [(f.code, f.location.file) for f in result.errors] == [
        ("AC7005", f"deploy/kubernetes/overlays/{env}") for env in ENVIRONMENTS
    ]
    assert "(Service/todo-api)" in result.errors[0].message


# --- consistency --------------------------------------------------------------------------


def test_a_probe_on_an_unserved_path_fails_consistency(built: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    edit(out / BASE_DEPLOYMENT, "path: /readyz", "path: /ready")
    result = consistency.run(context(out))
    assert result.status is Status.FAILED
    overlays = [f for f in result.findings if f.location.file.startswith("deploy/kubernetes")]
    assert [(f.code, f.location.file) for f in overlays] == [
        ("AC7005", f"deploy/kubernetes/overlays/{env}") for env in ENVIRONMENTS
    ]
    # the chart still probes /readyz: it no longer deploys what the kustomize package does
    drift = [f for f in result.findings if f not in overlays]
    assert [(f.code, f.location.file) for f in drift] == [
        ("AC7005", f"deploy/helm/todo-api (values-{env}.yaml)") for env in ENVIRONMENTS
    ]
    assert "readinessProbe" in drift[0].message
    finding = overlays[0]
    assert finding.rule_name == "cross-layer-inconsistent"
    assert "readinessProbe probes '/ready', which the service does not serve" in finding.message
    assert finding.hint and "/readyz" in finding.hint


def test_a_chart_breach_fails_policy_and_consistency(built: Path, tmp_path: Path) -> None:
    require_tool("helm", shutil.which("helm") is not None, "install helm on PATH")
    out = copy_of(built, tmp_path)
    template = out / "deploy" / "helm" / "todo-api" / "templates" / "deployment.yaml"
    text = template.read_text(encoding="utf-8")
    assert "containerPort:" in text
    template.write_text(
        re.sub(r"containerPort: .*", "containerPort: 9999", text, count=1), encoding="utf-8"
    )
    found = consistency.run(context(out))
    assert found.status is Status.FAILED
    assert {f.location.file for f in found.findings} == {
        f"deploy/helm/todo-api (values-{env}.yaml)" for env in ENVIRONMENTS
    }
    assert all(f.code == "AC7005" for f in found.findings)
    # a values file that loosens the security context: helm lint refuses it (values.schema.json)
    values = out / "deploy" / "helm" / "todo-api" / "values-prod.yaml"
    values.write_text(
        values.read_text(encoding="utf-8") + "securityContext:\n  privileged: true\n",
        encoding="utf-8",
    )
    policed = policy.run(context(out))
    assert policed.status is Status.FAILED
    codes_found = {(f.code, f.location.file) for f in policed.findings}
    assert ("AC7004", "deploy/helm/todo-api") in codes_found, codes_found
    assert any("helm: lint --strict" in line for line in policed.checked)


def test_without_helm_the_chart_is_a_warning(
    built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))  # helm is looked up on the process PATH
    result = policy.run(context(built, PATH=str(empty)))
    assert result.status is Status.PASSED
    (warning,) = result.findings
    assert warning.code == "helm-not-run" and warning.severity is Severity.WARNING
    assert warning.location.file == "deploy/helm/todo-api"


def test_overlays_and_environments_must_match(built: Path, tmp_path: Path) -> None:
    out = copy_of(built, tmp_path)
    overlays = out / "deploy/kubernetes/overlays"
    shutil.rmtree(overlays / "staging")
    shutil.copytree(overlays / "prod", overlays / "qa")
    result = consistency.run(context(out))
    assert result.status is Status.FAILED
    messages = {f.location.file: f.message for f in result.findings}
    assert set(messages) == {"deploy/kubernetes/overlays", "deploy/kubernetes/overlays/qa"}
    assert "'staging' of deployment.yaml has no overlay" in messages["deploy/kubernetes/overlays"]
    assert "overlay 'qa' is not an environment" in messages["deploy/kubernetes/overlays/qa"]


def test_a_dockerfile_that_runs_something_else_fails_consistency(
    built: Path, tmp_path: Path
) -> None:
    out = copy_of(built, tmp_path)
    edit(out / "deploy" / "Dockerfile", '"-m", "app"', '"-m", "application"')
    result = consistency.run(context(out))
    assert [(f.code, f.location.file) for f in result.errors] == [("AC7005", "deploy/Dockerfile")]


# --- the kustomize subset -----------------------------------------------------------------

PACKAGE = {
    "kubernetes/base/kustomization.yaml": "resources: [deployment.yaml]\n",
    "kubernetes/base/deployment.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n"
        "    spec:\n      containers:\n        - {name: web, image: 'web:1'}\n"
    ),
}
OVERLAY = "kubernetes/overlays/x/kustomization.yaml"


def test_the_renderer_applies_patches_then_namespace_then_images() -> None:
    overlay = (
        "resources: [../../base, ns.yaml]\nnamespace: shop\n"
        "images:\n  - {name: web, newName: reg/web, newTag: '2', digest: 'sha256:ab'}\n"
        "patches:\n  - target: {kind: Deploy.*, name: web}\n    path: patches/d.yaml\n"
    )
    files = {
        **PACKAGE,
        OVERLAY: overlay,
        "kubernetes/overlays/x/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
        "kubernetes/overlays/x/patches/d.yaml": (
            "- {op: add, path: /spec/replicas, value: 2}\n"
            "- {op: add, path: /spec/template/spec/containers/-, value: {name: b, image: web}}\n"
        ),
    }
    deployment, namespace = render.render_files(files, "x")
    assert namespace == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    assert deployment["metadata"] == {"name": "web", "namespace": "shop"}
    assert deployment["spec"]["replicas"] == 2
    images = [c["image"] for c in deployment["spec"]["template"]["spec"]["containers"]]
    assert images == ["reg/web:2@sha256:ab", "reg/web:2@sha256:ab"]


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ("resources: [../../base]\ncommonLabels: {a: b}\n", "commonLabels is not supported"),
        ("resources:\n  - https://example.com/k\n", "remote resource"),
        (
            "resources: [../../base]\npatches:\n  - target: {kind: Deployment}\n"
            "    patch: 'spec: {replicas: 2}'\n",
            "not strategic merge patches",
        ),
        (
            "resources: [../../base]\npatches:\n  - target: {kind: Deployment}\n"
            "    patch: '[{op: move, from: /spec, path: /x}]'\n",
            "operation 'move' is not supported",
        ),
        (
            "resources: [../../base]\npatches:\n  - target: {labelSelector: a=b}\n"
            "    patch: '[]'\n",
            "selector ['labelSelector'] is not supported",
        ),
        ("resources: [../../base]\nimages:\n  - {name: web, tagSuffix: x}\n", "tagSuffix"),
    ],
)
def test_kustomize_beyond_the_subset_is_refused(overlay: str, message: str) -> None:
    with pytest.raises(render.UnsupportedKustomizeError, match=message.replace("[", r"\[")):
        render.render_files({**PACKAGE, OVERLAY: overlay}, "x")


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        (
            "resources: [../../base]\npatches:\n  - target: {kind: Deployment}\n"
            "    path: ../../base/deployment.yaml\n",
            "is not in or below",
        ),
        ("resources: [../../base, missing.yaml]\n", "no such file"),
        ("resources: [../../base, ../../base/deployment.yaml]\n", "is not in or below"),
        ("resources: [../../base, ../../base]\n", "defined twice"),
        ("resources: [../../../../outside]\n", "outside the deployment package"),
        (
            "resources: [../../base]\npatches:\n  - target: {kind: Deployment}\n"
            "    patch: '[{op: replace, path: /spec/replicas, value: 2}]'\n",
            "there is no 'replicas'",
        ),
    ],
)
def test_a_broken_kustomization_is_an_error(overlay: str, message: str) -> None:
    with pytest.raises(render.KustomizeError, match=message) as caught:
        render.render_files({**PACKAGE, OVERLAY: overlay}, "x")
    assert not isinstance(caught.value, render.UnsupportedKustomizeError)
