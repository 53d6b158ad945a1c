"""Tasks behind the CLI commands: each runs the compiler pieces and returns an exit code."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import click
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from autocoder.cli.exit_codes import ExitCode, exit_code_for
from autocoder.cli.output import emit_diagnostics, info
from autocoder.compiler import Assumptions, CompileResult, compile_source, display_path
from autocoder.diagnostics import DiagnosticSink, Span, codes
from autocoder.frontend.lower import ARCHITECTURE, DEPLOYMENT
from autocoder.ir.graph import ComponentGraph
from autocoder.ir.graph_render import to_dot, to_mermaid
from autocoder.ir.serialize import IR_FILENAME
from autocoder.output import FileDraft, WriteConflictError, write_tree
from autocoder.resources import data_dir, in_ci


def _conflicts_to_sink(sink: DiagnosticSink, out: Path, error: WriteConflictError) -> None:
    for conflict in error.conflicts:
        sink.report(
            codes.OUTPUT_CONFLICT,
            f"{conflict.path} {conflict.reason}",
            span=Span(display_path(out / conflict.path)),
            hint="move it away, choose another output directory, or pass --force",
        )


def compile_task(
    source: Path, out: Path, *, force: bool, fmt: str, accept_assumptions: bool = False
) -> int:
    result = compile_source(source, assumptions=assumption_mode(accept_assumptions))
    return write_compiled(result, out, force=force, fmt=fmt)


def assumption_mode(accept: bool) -> Assumptions:
    """Unaccepted assumptions: accepted on the command line, errors in CI, else warnings."""
    return "accept" if accept else "error" if in_ci() else "warn"


def write_compiled(
    result: CompileResult, out: Path, *, force: bool, fmt: str, extra: Sequence[FileDraft] = ()
) -> int:
    """Write a compilation's blueprints and IR (and ``extra`` files) into OUT, or report."""
    if not result.ok:
        emit_diagnostics(result.sink.diagnostics, result.sink.sources, fmt, ok=False)
        return exit_code_for(result.sink.diagnostics)
    if result.ir is None:  # ok implies an IR; kept explicit for the type checker
        raise RuntimeError("compilation succeeded without an IR")
    drafts = [
        FileDraft.text(ARCHITECTURE, result.architecture_text),
        FileDraft.text(DEPLOYMENT, result.deployment_text),
        FileDraft.text(IR_FILENAME, result.ir_text()),
        *(FileDraft(name, raw) for name, raw in sorted(result.contract_files.items())),
        *extra,
    ]
    try:
        write_tree(out, drafts, force=force)
    except WriteConflictError as exc:
        _conflicts_to_sink(result.sink, out, exc)
        emit_diagnostics(result.sink.diagnostics, result.sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    except OSError as exc:
        result.sink.report(
            codes.IO_ERROR,
            f"cannot write {out}: {exc.strerror or exc}",
            span=Span(display_path(out)),
        )
        emit_diagnostics(result.sink.diagnostics, result.sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    ir = result.ir
    emit_diagnostics(
        result.sink.diagnostics,
        result.sink.sources,
        fmt,
        ok=True,
        output=str(out),
        content_hash=ir.content_hash,
    )
    info(
        f"compiled {ir.system.name} {ir.system.version}: {_count(ir.components, 'component')}, "
        f"{_count(ir.bindings, 'binding')}, {_count(ir.environments, 'environment')} -> "
        f"{display_path(out)}/{IR_FILENAME} ({ir.content_hash[:19]})",
        fmt,
    )
    return ExitCode.OK


def _count(items: Sequence[object], noun: str) -> str:
    return f"{len(items)} {noun}{'s' * (len(items) != 1)}"


def graph_task(source: Path, fmt: str) -> int:
    result = compile_source(source)
    if result.ir is None:
        emit_diagnostics(result.sink.diagnostics, result.sink.sources, "text")
        return exit_code_for(result.sink.diagnostics)
    # The graph is printed even with semantic errors: it helps to see them.
    emit_diagnostics(result.sink.diagnostics, result.sink.sources, "text")
    graph = ComponentGraph.from_ir(result.ir)
    text = to_mermaid(graph) if fmt == "mermaid" else to_dot(graph, result.ir.system.name)
    click.echo(text, nl=False)
    return exit_code_for(result.sink.diagnostics)


_NAME = re.compile(r"[^a-z0-9-]+")


def init_task(directory: Path, name: str | None) -> int:
    sink = DiagnosticSink()
    system = name or _NAME.sub("-", directory.resolve().name.lower()).strip("-") or "my-service"
    env = Environment(
        loader=FileSystemLoader(data_dir("component_templates") / "init"),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,  # noqa: S701 - renders YAML, not HTML
    )
    drafts = [
        FileDraft.text(n, env.get_template(n).render(NAME=system, DIR=display_path(directory)))
        for n in (ARCHITECTURE, DEPLOYMENT)
    ]
    # Local copies of the schemas, so the files' `$schema` lines work in any editor, offline.
    drafts += [
        FileDraft(
            f".autocoder/schemas/{n}.schema.json",
            (data_dir("schemas") / f"{n}.schema.json").read_bytes(),
        )
        for n in ("architecture", "deployment")
    ]
    existing = [d.path for d in drafts if (directory / d.path).exists()]
    for path in existing:
        sink.report(
            codes.OUTPUT_CONFLICT,
            f"{path} already exists; init never overwrites it",
            span=Span(display_path(directory / path)),
            hint="choose an empty directory",
        )
    if existing:
        emit_diagnostics(sink.diagnostics, sink.sources, "text")
        return ExitCode.USAGE
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for draft in drafts:
            (directory / draft.path).parent.mkdir(parents=True, exist_ok=True)
            (directory / draft.path).write_bytes(draft.content)
    except OSError as exc:
        sink.report(
            codes.IO_ERROR,
            f"cannot write {directory}: {exc.strerror or exc}",
            span=Span(display_path(directory)),
        )
        emit_diagnostics(sink.diagnostics, sink.sources, "text")
        return ExitCode.USAGE
    click.echo(
        f"wrote {display_path(directory / ARCHITECTURE)} and "
        f"{display_path(directory / DEPLOYMENT)} (system {system!r})\n"
        f"next: autocoder compile {display_path(directory)} -o out/{system}"
    )
    return ExitCode.OK


def explain_task(code: str) -> int:
    found = codes.lookup(code)
    if found is None:
        sink = DiagnosticSink()
        sink.report(
            codes.USAGE_ERROR,
            f"unknown diagnostic code {code!r}",
            hint="codes look like AC3001 or unknown-component; see docs/diagnostics.md",
        )
        emit_diagnostics(sink.diagnostics, sink.sources, "text")
        return ExitCode.USAGE
    suppressible = "yes" if found.suppressible else "no"
    click.echo(
        f"{found.id} {found.name} ({found.severity}, stage {found.stage}, "
        f"suppressible: {suppressible})\n\n{found.summary}\n\n{found.explanation}"
    )
    return ExitCode.OK


def schema_task(name: str, show_path: bool) -> int:
    path = (
        (data_dir("ir") / "v1.schema.json")
        if name == "ir"
        else data_dir("schemas") / f"{name}.schema.json"
    )
    if show_path:
        click.echo(str(path))
    else:
        click.echo(json.dumps(json.loads(path.read_text(encoding="utf-8")), indent=2))
    return ExitCode.OK
