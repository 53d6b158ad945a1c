"""The task behind ``validate``: run the tiers on a generated system and write its reports."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from autocoder.cli.exit_codes import ExitCode
from autocoder.cli.output import emit_diagnostics
from autocoder.compiler import display_path
from autocoder.diagnostics import DiagnosticSink, Span, codes
from autocoder.ir.serialize import IR_FILENAME, read_ir
from autocoder.validate.context import ValidateContext
from autocoder.validate.findings import TIERS
from autocoder.validate.runner import Options, validate

REPORTS = "reports"


def _progress(fmt: str) -> Options:
    def say(line: str) -> None:
        if fmt == "text":
            click.echo(f"  validate: {line}", err=True)

    return Options(progress=say)


def validate_task(
    out: Path,
    *,
    tiers: tuple[str, ...],
    skips: tuple[str, ...],
    reason: str | None,
    baseline: Path | None,
    update_baseline: bool,
    cache: bool,
    fmt: str,
) -> int:
    from autocoder.validate.render import render_json, render_text, write_reports

    sink = DiagnosticSink()
    ir_path = out / IR_FILENAME
    if not ir_path.is_file() or not (out / "service").is_dir():
        sink.report(
            codes.SOURCE_NOT_FOUND,
            f"{display_path(out)} holds no generated system (ir.v1.json and service/)",
            span=Span(display_path(out)),
            hint=f"run `autocoder build SOURCE -o {display_path(out)}` first",
        )
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    unknown = sorted((set(tiers) | set(skips)) - set(TIERS))
    if unknown or (skips and not (reason or "").strip()):
        message = (
            f"unknown tier(s) {', '.join(unknown)}; the tiers are {', '.join(TIERS)}"
            if unknown
            else "--skip needs --reason: a skipped tier is recorded in the report with it"
        )
        sink.report(codes.USAGE_ERROR, message)
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.USAGE
    ir = read_ir(ir_path, sink, file=display_path(ir_path))
    if ir is None:
        emit_diagnostics(sink.diagnostics, sink.sources, fmt, ok=False)
        return ExitCode.INPUT_ERRORS
    options = _progress(fmt)
    options.tiers = list(tiers) or list(TIERS)
    options.skips = {tier: str(reason) for tier in skips}
    options.baseline = baseline
    options.update_baseline = update_baseline
    options.cache = cache
    report = validate(ValidateContext(out=out, ir=ir), options)
    written = write_reports(report, out / REPORTS)
    if fmt == "json":
        sys.stdout.write(render_json(report))
    else:
        click.echo(render_text(report), nl=False)
        click.echo(f"reports: {', '.join(display_path(p) for p in written)}", err=True)
    return ExitCode.OK if report.ok else ExitCode.INPUT_ERRORS
