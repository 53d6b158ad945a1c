"""The deployment back end: IR -> ``deploy/`` (container, compose, Kubernetes with kustomize,
Helm), gated by ``gate.check_package`` before anything is written."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from autocoder.ir.endpoints import service_endpoints
from autocoder.ir.models import IR
from autocoder.output import FileDraft
from autocoder.resources import data_dir

from .model import CONTAINER_UID, Target, targets

DEPLOY = "deploy"


@cache
def _templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(data_dir("component_templates") / "deploy")),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701 - Markdown, not HTML
    )


def _section(t: Target) -> dict[str, Any]:
    """One environment in deploy/README.md: a title and its bullet lines."""
    scale = f"{t.replicas} replica(s)"
    if t.autoscaling:
        a = t.autoscaling
        scale += f", autoscaled {a.min_replicas}-{a.max_replicas} at {a.target_cpu_percent}% CPU"
    lines = [f"- image `{t.image}`, port {t.port}, {scale}"]
    if t.ingress:
        tls = f" with TLS from Secret `{t.ingress.tls.secret_name}`" if t.ingress.tls else ""
        lines.append(f"- Ingress `{t.ingress.host}`{tls}")
    if t.secrets:
        lines.append("- Secrets (by reference, through ExternalSecret; never in these files):")
        for s in t.secrets:
            how = f"file `{s.file_path}` (`{s.file_env}`)" if s.as_file else f"`{s.env}`"
            implied = (
                " (implied by the auth scheme: declare it in deployment.yaml)"
                if s in t.implied_secrets
                else ""
            )
            lines.append(f"  - {how} <- Secret `{s.secret}`, key `{s.key}`{implied}")
    if t.egress:
        allowed = ", ".join(f"{e.purpose} {e.host or 'any address'}:{e.port}" for e in t.egress)
        lines.append(f"- Egress allowed: {allowed}")
    title = f"{t.env}: {t.description}" if t.description else t.env
    return {"title": title, "lines": lines}


def _readme(ir: IR, all_targets: list[Target]) -> str:
    names = [t.env for t in all_targets]
    return (
        _templates()
        .get_template("README.md.j2")
        .render(
            system=ir.system.name,
            version=ir.system.version,
            app=all_targets[0].app if all_targets else "app",
            envs=names,
            dev="dev" if "dev" in names else (names[0] if names else "dev"),
            uid=CONTAINER_UID,
            endpoints=service_endpoints(ir),
            sections=[_section(t) for t in all_targets],
        )
    )


def deploy_drafts(ir: IR) -> list[FileDraft]:
    """Every file of ``deploy/``, paths relative to OUT."""
    from .container import container_drafts
    from .helm import helm_drafts
    from .kustomize import kubernetes_drafts

    all_targets = targets(ir)
    drafts = [
        *container_drafts(all_targets, ir),
        *kubernetes_drafts(all_targets),
        *helm_drafts(all_targets, ir),
        FileDraft.text("README.md", _readme(ir, all_targets)),
    ]
    return sorted(
        (FileDraft(f"{DEPLOY}/{d.path}", d.content, executable=d.executable) for d in drafts),
        key=lambda d: d.path,
    )


__all__ = ["DEPLOY", "deploy_drafts", "targets"]
