"""Printing diagnostics and results for the CLI (text to stderr, JSON to stdout)."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from autocoder.diagnostics import Diagnostic, render_json, render_text


def emit_diagnostics(
    diagnostics: Sequence[Diagnostic],
    sources: dict[str, str],
    fmt: str,
    **extra: object,
) -> None:
    if fmt == "json":
        click.echo(render_json(diagnostics, **extra), nl=False)
        return
    text = render_text(diagnostics, sources)
    if text:
        click.echo(text, nl=False, err=True)


def info(message: str, fmt: str) -> None:
    """A human status line; suppressed in JSON mode so stdout stays one JSON document."""
    if fmt != "json":
        click.echo(message, file=sys.stdout)
