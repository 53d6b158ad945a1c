"""The output gate: the deployment package must pass the checks Autocoder sells, or it is not
written.

For every environment the rendered manifests are validated against the Kubernetes API schema
(strict) and the Kubernetes policy pack; the Dockerfile goes through hadolint and the
Dockerfile pack; the Helm chart is linted and rendered where ``helm`` is on PATH (and the
rendering checked like the kustomize one); where ``kubectl`` is on PATH each overlay is rendered
by kustomize and must equal what was checked; finally the cross-layer check. A missing tool is
a failure, never a silent pass.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autocoder.backends.deploy import consistency, hadolint, helm, kubernetes
from autocoder.backends.deploy.model import Target
from autocoder.backends.deploy.yamlout import load_all
from autocoder.diagnostics import Code, codes
from autocoder.output import FileDraft
from autocoder.policy import Severity

KUSTOMIZE_TIMEOUT = 60
TOOL_WORKERS = 4  # hadolint, kubectl and helm run side by side (they wait on subprocesses)


@dataclass(frozen=True)
class GateFinding:
    code: Code
    file: str
    message: str
    hint: str = ""
    warning: bool = False  # a policy rule of severity `warning`: reported, does not fail


@dataclass
class GateReport:
    """What the gate checked and what it found."""

    findings: list[GateFinding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # one line per check that ran
    skipped: list[str] = field(default_factory=list)  # optional checks that could not run

    def add(
        self, code: Code, file: str, message: str, hint: str = "", *, warning: bool = False
    ) -> None:
        self.findings.append(GateFinding(code, file, message, hint, warning))

    @property
    def failed(self) -> bool:
        return any(not f.warning for f in self.findings)


def _validate_and_police(
    report: GateReport, target: Target, objects: list[dict[str, Any]], where: str
) -> None:
    from autocoder.backends.deploy.kubeschema import validate_manifest
    from autocoder.policy import kubernetes_pack

    for obj in objects:
        subject = f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
        for error in validate_manifest(obj):
            report.add(
                codes.GENERATED_MANIFEST_INVALID,
                where,
                f"environment {target.env!r}: {subject}: {error}",
                "a bug in Autocoder's deployment back end, or a deployment.yaml value "
                "Kubernetes cannot accept",
            )
    for violation in kubernetes_pack().check([(where, obj) for obj in objects]):
        report.add(
            codes.GENERATED_POLICY_VIOLATION,
            where,
            f"environment {target.env!r}: {violation.subject}: [{violation.rule.id}] "
            f"{violation.message}",
            violation.rule.hint,
            warning=violation.rule.severity == Severity.WARNING,
        )


def check_package(
    targets: list[Target], files: dict[str, bytes], *, tools: bool = True
) -> GateReport:
    """Gate the generated files (``files``: OUT-relative path -> content, service and deploy).

    ``tools=False`` skips the optional external renderers (helm, kubectl) even when present.
    """
    report = GateReport()
    try:
        import kubernetes_validate  # noqa: F401 - presence check

        from autocoder.backends.deploy import kubeschema  # noqa: F401
    except ImportError as exc:
        report.add(
            codes.GATE_TOOL_MISSING,
            "deploy/kubernetes",
            f"kubernetes-validate is not installed ({exc}); the manifests were not checked",
        )
        return report

    from autocoder.policy import PolicyPackError, dockerfile_pack, kubernetes_pack

    # The external tools (hadolint, kubectl, helm) start first and run while the checks made
    # in this process do; their findings are added afterwards, in a fixed order.
    with (
        tempfile.TemporaryDirectory(prefix="autocoder-gate-") as tmp,
        ThreadPoolExecutor(max_workers=TOOL_WORKERS) as pool,
    ):
        root = Path(tmp)
        for path, content in files.items():
            if path.startswith("deploy/"):
                dest = root / path
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(content)
        dockerfile_text = files.get(consistency.DOCKERFILE, b"").decode("utf-8")
        linted = pool.submit(hadolint.lint, dockerfile_text)
        kustomized = _start_kustomize(pool, targets, root) if tools else None
        charted = _start_helm(pool, targets, root) if tools else None

        try:
            kubernetes_pack()
            dockerfile_pack()
        except PolicyPackError as exc:
            report.add(codes.POLICY_PACK_INVALID, "policies", str(exc))
            return report

        rendered = {t.env: kubernetes.objects(t) for t in targets}
        for target in targets:
            where = f"deploy/kubernetes/overlays/{target.env}"
            _validate_and_police(report, target, rendered[target.env], where)
            for finding in consistency.check_environment(
                target, rendered[target.env], files, where=where
            ):
                report.add(
                    codes.CROSS_LAYER_INCONSISTENT, finding.file, finding.message, finding.hint
                )
        report.checked.append(
            f"kubernetes: {sum(len(o) for o in rendered.values())} manifests in "
            f"{len(targets)} environment(s): schema (strict), policy pack, cross-layer"
        )

        _check_dockerfile(report, dockerfile_text, linted)
        for finding in consistency.check_container(files):
            report.add(codes.CROSS_LAYER_INCONSISTENT, finding.file, finding.message, finding.hint)

        if tools:
            _check_kustomize(report, targets, rendered, kustomized)
            _check_helm(report, targets, rendered, charted, files)
    return report


def _check_dockerfile(
    report: GateReport, text: str, linted: Future[list[hadolint.HadolintFinding]]
) -> None:
    from autocoder.policy import dockerfile_pack, parse_dockerfile

    path = consistency.DOCKERFILE
    try:
        findings = linted.result()
    except hadolint.ToolMissingError as exc:
        report.add(codes.GATE_TOOL_MISSING, path, f"hadolint is not available: {exc}")
    else:
        for f in hadolint.blocking(findings):
            report.add(
                codes.GENERATED_DOCKERFILE_LINT,
                f"{path}:{f.line}:{f.column}",
                f"{f.code} ({f.level}): {f.message}",
            )
        report.checked.append(f"Dockerfile: hadolint ({len(findings)} finding(s) below warning)")
    for violation in dockerfile_pack().check([(path, parse_dockerfile(text))]):
        report.add(
            codes.GENERATED_POLICY_VIOLATION,
            path,
            f"{violation.subject}: [{violation.rule.id}] {violation.message}",
            violation.rule.hint,
            warning=violation.rule.severity == Severity.WARNING,
        )
    report.checked.append("Dockerfile: policy pack")


def _canonical(objects: list[dict[str, Any]]) -> list[str]:
    import json

    return sorted(json.dumps(o, sort_keys=True) for o in objects)


def _kustomize(kubectl: str, overlay: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - kubectl from PATH on our own files
        [kubectl, "kustomize", str(overlay)],
        capture_output=True,
        text=True,
        timeout=KUSTOMIZE_TIMEOUT,
        check=False,
    )


Started = dict[str, Future[subprocess.CompletedProcess[str]]]


def _start_kustomize(pool: Executor, targets: list[Target], root: Path) -> Started | None:
    """``kubectl kustomize`` of every overlay, started in ``pool``; None without kubectl."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    overlays = root / "deploy" / "kubernetes" / "overlays"
    return {t.env: pool.submit(_kustomize, kubectl, overlays / t.env) for t in targets}


def _check_kustomize(
    report: GateReport,
    targets: list[Target],
    rendered: dict[str, list[dict[str, Any]]],
    started: Started | None,
) -> None:
    if started is None:
        report.skipped.append("kustomize render: kubectl is not on PATH")
        return
    for target in targets:
        where = f"deploy/kubernetes/overlays/{target.env}"
        result = started[target.env].result()
        if result.returncode != 0:
            report.add(
                codes.GENERATED_MANIFEST_INVALID,
                where,
                f"kubectl kustomize failed: {result.stderr.strip()[:500]}",
            )
            continue
        if _canonical(load_all(result.stdout)) != _canonical(rendered[target.env]):
            report.add(
                codes.CROSS_LAYER_INCONSISTENT,
                where,
                f"environment {target.env!r}: `kubectl kustomize` renders something other "
                "than the manifests that were checked",
                "this is a bug in Autocoder's kustomize layout",
            )
    report.checked.append(f"kustomize: {len(targets)} overlay(s) rendered by kubectl and compared")


def _start_helm(pool: Executor, targets: list[Target], root: Path) -> Future[helm.HelmCheck]:
    if not targets:
        return pool.submit(helm.HelmCheck, ran=False, reason="no environment")
    chart = root / "deploy" / "helm" / targets[0].app
    return pool.submit(helm.helm_check, chart, [t.env for t in targets])


def _check_helm(
    report: GateReport,
    targets: list[Target],
    rendered: dict[str, list[dict[str, Any]]],
    started: Future[helm.HelmCheck] | None,
    files: dict[str, bytes],
) -> None:
    if helm.helm_path() is None:
        report.skipped.append("helm lint/template: helm is not on PATH")
        return
    if not targets or started is None:
        return
    result = started.result()
    where = f"deploy/helm/{targets[0].app}"
    for message in result.errors:
        report.add(codes.GENERATED_CHART_INVALID, where, message)
    for target in targets:
        objects = result.rendered.get(target.env)
        if objects is None:
            continue
        env_where = f"{where} (values-{target.env}.yaml)"
        _validate_and_police(report, target, objects, env_where)
        for finding in consistency.check_environment(target, objects, files, where=env_where):
            report.add(codes.CROSS_LAYER_INCONSISTENT, finding.file, finding.message, finding.hint)
        for finding in consistency.compare_renderings(
            target, rendered[target.env], objects, where=env_where
        ):
            report.add(codes.CROSS_LAYER_INCONSISTENT, finding.file, finding.message, finding.hint)
    report.checked.append(
        f"helm: lint --strict and template for {len(targets)} environment(s), schema, policy "
        "pack, cross-layer, compared with kustomize"
    )


def drafts_by_path(drafts: list[FileDraft]) -> dict[str, bytes]:
    return {d.path: d.content for d in drafts}
