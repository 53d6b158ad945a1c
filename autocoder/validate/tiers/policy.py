"""The ``policy`` tier: the Kubernetes and Dockerfile policy packs over the deployment package
as it is on disk.

Each environment is rendered from the files in OUT/deploy/kubernetes (a user may have edited
them) by the Python kustomize renderer, validated against the Kubernetes API schema (strict)
and checked with the Kubernetes pack; where ``kubectl`` is on PATH the overlay is also rendered
by ``kubectl kustomize`` and must come out the same. The Helm chart is linted and rendered per
environment by ``helm`` and goes through the same schema and pack (without helm on PATH, a
warning says it was not checked). OUT/deploy/Dockerfile goes through the Dockerfile pack.
The architecture policy is the blueprint tier's (AC4xxx, AC5xxx).
"""

from __future__ import annotations

import re
import shutil
import time
from typing import Any

from autocoder.backends.deploy import kubeschema
from autocoder.backends.deploy.render import (
    KustomizeError,
    UnsupportedKustomizeError,
    canonical,
    environments,
    overlay_dir,
    render_overlay,
)
from autocoder.backends.deploy.yamlout import load_all
from autocoder.diagnostics import Code, codes
from autocoder.policy import (
    Pack,
    PolicyPackError,
    Violation,
    dockerfile_pack,
    kubernetes_pack,
    parse_dockerfile,
)
from autocoder.policy import Severity as RuleSeverity
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Finding, Location, Severity, Status, TierResult
from autocoder.validate.tools import ToolError, run_tool

NAME = "policy"
INPUTS = ("deploy", "architecture.yaml")

KUBECTL_TIMEOUT = 120
DOCKERFILE = "deploy/Dockerfile"


def run(ctx: ValidateContext) -> TierResult:
    start = time.perf_counter()
    result = TierResult(NAME, Status.PASSED)
    try:
        k8s, docker = kubernetes_pack(), dockerfile_pack()
    except PolicyPackError as exc:
        result.not_checked.append(f"policy packs: {exc}")
    else:
        _check_kubernetes(ctx, k8s, result)
        _check_helm(ctx, k8s, result)
        _check_dockerfile(ctx, docker, result)
    result.seconds = time.perf_counter() - start
    return result.settle()


def _check_kubernetes(ctx: ValidateContext, pack: Pack, result: TierResult) -> None:
    envs = environments(ctx.deploy)
    if not envs:
        result.not_checked.append(f"deploy/{overlay_dir('*')}: no environment to check")
        return
    schema_missing = kubeschema.available()
    if schema_missing is not None:
        result.not_checked.append(f"Kubernetes API schema: {schema_missing}")
    kubectl = shutil.which("kubectl", path=ctx.subprocess_env.get("PATH"))
    checked = 0
    for env in envs:
        where = f"deploy/{overlay_dir(env)}"
        try:
            objects = render_overlay(ctx.deploy, env)
        except UnsupportedKustomizeError as exc:
            result.not_checked.append(f"{where}: cannot be rendered without kubectl: {exc}")
            continue
        except KustomizeError as exc:
            result.findings.append(
                _code_finding(
                    codes.GENERATED_MANIFEST_INVALID,
                    where,
                    f"environment {env!r}: the overlay cannot be rendered: {exc}",
                    "fix the kustomization, or regenerate the package with `autocoder build`",
                )
            )
            continue
        checked += len(objects)
        _police(objects, where, pack, result, schema=schema_missing is None)
        if kubectl is not None:
            _compare_with_kubectl(ctx, kubectl, env, objects, result)
    result.checked.append(
        f"kubernetes: {checked} manifests in {len(envs)} environment(s) rendered from "
        f"deploy/kubernetes: schema (strict), {pack.name} pack ({len(pack.rules)} rules)"
    )
    if kubectl is None:
        result.checked.append("kubectl kustomize: not on PATH, the Python rendering was used")
    else:
        result.checked.append(f"kubectl kustomize: {len(envs)} overlay(s) compared")


def _police(
    objects: list[dict[str, Any]], where: str, pack: Pack, result: TierResult, *, schema: bool
) -> None:
    """The Kubernetes API schema (strict, when available) and the pack over ``objects``."""
    if schema:
        for obj in objects:
            for error in kubeschema.validate_manifest(obj):
                result.findings.append(
                    _code_finding(
                        codes.GENERATED_MANIFEST_INVALID,
                        where,
                        f"{_subject(obj)}: {error}",
                        "Kubernetes would reject the object: fix the field the message names",
                    )
                )
    for violation in pack.check([(where, obj) for obj in objects]):
        result.findings.append(_violation(violation, Location(where)))


def _check_helm(ctx: ValidateContext, pack: Pack, result: TierResult) -> None:
    """The chart as it is on disk: ``helm lint --strict``, then each environment's
    ``helm template`` through the schema and the pack. Without helm the chart is not
    rendered: a warning says so (the kustomize package above was checked)."""
    chart = ctx.chart
    if chart is None:
        return
    where = ctx.relative(chart)
    envs = sorted(p.stem.removeprefix("values-") for p in chart.glob("values-*.yaml"))
    check = ctx.helm(envs)
    if check is None:
        return
    if not check.ran:
        result.findings.append(
            Finding(
                code="helm-not-run",
                severity=Severity.WARNING,
                message=f"{where}: the chart was not linted or rendered ({check.reason})",
                tier=NAME,
                location=Location(where),
                hint="install helm (https://helm.sh) to check the chart; the kustomize "
                "package was checked",
                rule_name="the Helm chart could not be checked",
            )
        )
        return
    for message in check.errors:
        result.findings.append(
            _code_finding(
                codes.GENERATED_CHART_INVALID,
                where,
                message,
                "fix the template or values file it names, or regenerate with `autocoder build`",
            )
        )
    schema = kubeschema.available() is None
    count = 0
    for env, objects in sorted(check.rendered.items()):
        count += len(objects)
        _police(objects, f"{where} (values-{env}.yaml)", pack, result, schema=schema)
    result.checked.append(
        f"helm: lint --strict and template of {where} for {len(envs)} environment(s), "
        f"{count} manifests: schema (strict), {pack.name} pack"
    )


def _compare_with_kubectl(
    ctx: ValidateContext, kubectl: str, env: str, objects: list[dict[str, Any]], result: TierResult
) -> None:
    where = f"deploy/{overlay_dir(env)}"
    try:
        done = run_tool(
            [kubectl, "kustomize", str(ctx.deploy / overlay_dir(env))],
            env=ctx.subprocess_env,
            timeout=KUBECTL_TIMEOUT,
        )
    except ToolError as exc:
        result.not_checked.append(f"{where}: kubectl kustomize {exc}")
        return
    if done.returncode != 0:
        result.findings.append(
            _code_finding(
                codes.GENERATED_MANIFEST_INVALID,
                where,
                f"environment {env!r}: kubectl kustomize fails: {done.stderr.strip()[:500]}",
                "fix the kustomization, or regenerate the package with `autocoder build`",
            )
        )
        return
    try:
        rendered = [o for o in load_all(done.stdout) if isinstance(o, dict)]
    except Exception as exc:  # ruamel raises several error types on odd input
        result.not_checked.append(f"{where}: kubectl kustomize output unreadable: {exc}")
        return
    if canonical(rendered) == canonical(objects):
        return
    ours = {_subject(o): canonical([o]) for o in objects}
    theirs = {_subject(o): canonical([o]) for o in rendered}
    differing = sorted(k for k in ours.keys() | theirs.keys() if ours.get(k) != theirs.get(k))
    result.findings.append(
        _code_finding(
            codes.CROSS_LAYER_INCONSISTENT,
            where,
            f"environment {env!r}: `kubectl kustomize` renders something other than the "
            f"manifests checked here ({', '.join(differing[:5]) or 'object order'})",
            "the overlay uses kustomize beyond what Autocoder renders itself; keep to "
            "resources, namespace, images and JSON patches",
        )
    )


def _check_dockerfile(ctx: ValidateContext, pack: Pack, result: TierResult) -> None:
    path = ctx.out / DOCKERFILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        result.not_checked.append(f"{DOCKERFILE}: cannot be read: {exc}")
        return
    for violation in pack.check([(DOCKERFILE, parse_dockerfile(text))]):
        _, _, line = violation.subject.rpartition(":")
        number = int(line) if line.isdigit() else 0
        result.findings.append(
            _violation(violation, Location(DOCKERFILE, number, 1 if number else 0), subject=False)
        )
    result.checked.append(f"Dockerfile: {pack.name} pack ({len(pack.rules)} rules)")


def _violation(violation: Violation, location: Location, *, subject: bool = True) -> Finding:
    rule = violation.rule
    return Finding(
        code=rule.id,
        severity=Severity.WARNING if rule.severity is RuleSeverity.WARNING else Severity.ERROR,
        message=f"{violation.subject}: {violation.message}" if subject else violation.message,
        tier=NAME,
        location=location,
        hint=rule.hint,
        rule_name=_first_sentence(rule.description),
    )


def _code_finding(code: Code, where: str, message: str, hint: str) -> Finding:
    return Finding(code.id, Severity.ERROR, message, NAME, Location(where), hint, code.name)


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=\.)\s+", text.strip(), maxsplit=1)[0].rstrip(".")


def _subject(obj: dict[str, Any]) -> str:
    return f"{obj.get('kind')}/{(obj.get('metadata') or {}).get('name')}"
