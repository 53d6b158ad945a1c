"""Diagnostics: spans, the code registry, the sink and the renderers."""

from autocoder.diagnostics import codes
from autocoder.diagnostics.codes import Code
from autocoder.diagnostics.diagnostic import Diagnostic, Severity, Stage
from autocoder.diagnostics.render import format_diagnostic, render_json, render_text
from autocoder.diagnostics.sink import DiagnosticSink, Suppression
from autocoder.diagnostics.span import Span

__all__ = [
    "Code",
    "Diagnostic",
    "DiagnosticSink",
    "Severity",
    "Span",
    "Stage",
    "Suppression",
    "codes",
    "format_diagnostic",
    "render_json",
    "render_text",
]
