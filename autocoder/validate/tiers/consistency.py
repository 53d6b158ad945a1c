"""The ``consistency`` tier: the cross-layer check over the files on disk.

Each environment's manifests are rendered from OUT/deploy/kubernetes (as the policy tier does)
and checked against the IR's environment of the same name and the service's files: probes hit
served routes, ports line up, every variable the service reads is given, every Secret is
declared, SQLite never sits behind several replicas. The Dockerfile is checked against the
service. An overlay without an environment in the IR, or the reverse, is an error.
"""

from __future__ import annotations

import time

from autocoder.backends.deploy import consistency
from autocoder.backends.deploy.model import Target, targets
from autocoder.backends.deploy.render import (
    KustomizeError,
    environments,
    overlay_dir,
    render_overlay,
)
from autocoder.diagnostics import codes
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import Finding, Location, Severity, Status, TierResult

NAME = "consistency"
INPUTS = ("service", "deploy", "ir.v1.json")

CODE = codes.CROSS_LAYER_INCONSISTENT
OVERLAYS = f"deploy/{overlay_dir('')}".rstrip("/")


def run(ctx: ValidateContext) -> TierResult:
    start = time.perf_counter()
    result = TierResult(NAME, Status.PASSED)
    try:
        files = {ctx.relative(p): p.read_bytes() for p in ctx.files("service", "deploy")}
    except OSError as exc:
        result.not_checked.append(f"service/, deploy/: cannot be read: {exc}")
    else:
        _check(ctx, files, result)
    result.seconds = time.perf_counter() - start
    return result.settle()


def _check(ctx: ValidateContext, files: dict[str, bytes], result: TierResult) -> None:
    wanted = {t.env: t for t in targets(ctx.ir)}
    present = environments(ctx.deploy)
    for env in sorted(set(wanted) - set(present)):
        result.findings.append(
            _finding(
                OVERLAYS,
                f"environment {env!r} of deployment.yaml has no overlay in {OVERLAYS}",
                "regenerate the package with `autocoder build`",
            )
        )
    checked = 0
    for env in present:
        where = f"deploy/{overlay_dir(env)}"
        target = wanted.get(env)
        if target is None:
            result.findings.append(
                _finding(
                    where,
                    f"overlay {env!r} is not an environment of deployment.yaml (the IR has "
                    f"{', '.join(sorted(wanted)) or 'none'})",
                    "declare the environment in deployment.yaml and rebuild, or remove the overlay",
                )
            )
            continue
        if _check_environment(ctx, target, files, where, result):
            checked += 1
    for found in consistency.check_container(files):
        result.findings.append(_finding(found.file, found.message, found.hint))
    result.checked.append(
        f"cross-layer: {checked} of {len(present)} environment(s) (probes, ports, environment "
        "variables, secrets, SQLite replicas) against the IR and the service"
    )
    result.checked.append(f"container: {consistency.DOCKERFILE} against the service")
    _check_helm(ctx, wanted, files, result)


def _check_environment(
    ctx: ValidateContext, target: Target, files: dict[str, bytes], where: str, result: TierResult
) -> bool:
    try:
        objects = render_overlay(ctx.deploy, target.env)
    except KustomizeError as exc:
        result.not_checked.append(f"{where}: cannot be rendered: {exc}")
        return False
    for found in consistency.check_environment(target, objects, files, where=where):
        result.findings.append(_finding(found.file, found.message, found.hint))
    return True


def _check_helm(
    ctx: ValidateContext, wanted: dict[str, Target], files: dict[str, bytes], result: TierResult
) -> None:
    """Each environment's Helm rendering (shared with the policy tier) against the IR and the
    service, and against the kustomize rendering of the same environment: both packages must
    deploy the same thing. Nothing to do without a chart or without helm (the policy tier
    reports that)."""
    chart = ctx.chart
    envs = (
        sorted(p.stem.removeprefix("values-") for p in chart.glob("values-*.yaml")) if chart else []
    )
    check = ctx.helm(envs) if chart else None
    if chart is None or check is None or not check.ran:
        return
    where = ctx.relative(chart)
    compared = 0
    for env, helm_objects in sorted(check.rendered.items()):
        target = wanted.get(env)
        env_where = f"{where} (values-{env}.yaml)"
        if target is None:
            result.findings.append(
                _finding(
                    env_where,
                    f"values file for {env!r}, which is not an environment of deployment.yaml",
                    "declare the environment in deployment.yaml and rebuild, or remove the file",
                )
            )
            continue
        found = consistency.check_environment(target, helm_objects, files, where=env_where)
        try:
            kustomized = render_overlay(ctx.deploy, env)
        except KustomizeError:
            kustomized = None  # reported by the overlay check above
        if kustomized is not None:
            found += consistency.compare_renderings(
                target, kustomized, helm_objects, where=env_where
            )
            compared += 1
        for item in found:
            result.findings.append(_finding(item.file, item.message, item.hint))
    result.checked.append(
        f"helm: {len(check.rendered)} environment(s) of {where} against the IR and the "
        f"service; {compared} compared with the kustomize rendering"
    )


def _finding(file: str, message: str, hint: str) -> Finding:
    return Finding(CODE.id, Severity.ERROR, message, NAME, Location(file), hint or None, CODE.name)
