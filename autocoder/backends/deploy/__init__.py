"""The deployment back end: IR -> ``deploy/`` (container, compose, Kubernetes with kustomize,
Helm), gated by ``gate.check_package`` before anything is written."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined

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
            targets=all_targets,
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
