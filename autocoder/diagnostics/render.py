"""Pure functions that turn diagnostics into text (with a caret) or JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

from autocoder.diagnostics.diagnostic import Diagnostic, Severity

JSON_FORMAT_VERSION = 1
_TOKEN_END = re.compile(r"[\s,\]\}#]")


def _token_width(line: str, col: int) -> int:
    """Width of the YAML token starting at 1-based ``col`` (quoted strings included)."""
    rest = line[col - 1 :]
    if not rest:
        return 1
    if rest[0] in "\"'":
        close = rest.find(rest[0], 1)
        return close + 1 if close > 0 else len(rest)
    match = _TOKEN_END.search(rest, 1 if rest[0] in "-[{" else 0)
    width = match.start() if match else len(rest.rstrip())
    if rest[:width].endswith(":"):
        width -= 1
    return max(width, 1)


def _source_excerpt(diagnostic: Diagnostic, sources: Mapping[str, str]) -> list[str]:
    span = diagnostic.span
    if span is None or span.line == 0 or span.file not in sources:
        return []
    lines = sources[span.file].splitlines()
    if not 1 <= span.line <= len(lines):
        return []
    line = lines[span.line - 1].replace("\t", " ")
    gutter = f"{span.line:>5} | "
    if span.end_line == span.line and span.end_col is not None and span.end_col > span.col:
        width = span.end_col - span.col
    else:
        width = _token_width(line, span.col)
    caret = " " * (len(gutter) - 2) + "| " + " " * (span.col - 1) + "^" + "~" * (width - 1)
    return [gutter + line, caret]


def format_diagnostic(diagnostic: Diagnostic, sources: Mapping[str, str] | None = None) -> str:
    """``file:line:col: error: message  [CODE]`` + source line + caret + hint."""
    where = str(diagnostic.span) if diagnostic.span is not None else "autocoder"
    severity = str(diagnostic.severity)
    suppressed = f" (suppressed: {diagnostic.suppressed_by})" if diagnostic.suppressed_by else ""
    out = [f"{where}: {severity}: {diagnostic.message}{suppressed}  [{diagnostic.code.id}]"]
    out.extend(_source_excerpt(diagnostic, sources or {}))
    if diagnostic.hint:
        out.append(f"  hint: {diagnostic.hint}")
    return "\n".join(out)


def summary_line(diagnostics: Sequence[Diagnostic]) -> str:
    active = [d for d in diagnostics if d.suppressed_by is None]
    errors = sum(d.severity is Severity.ERROR for d in active)
    warnings = sum(d.severity is Severity.WARNING for d in active)
    parts = [f"{errors} error{'s' * (errors != 1)}", f"{warnings} warning{'s' * (warnings != 1)}"]
    suppressed = len(diagnostics) - len(active)
    if suppressed:
        parts.append(f"{suppressed} suppressed")
    return ", ".join(parts)


def render_text(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, str] | None = None,
    *,
    show_suppressed: bool = False,
) -> str:
    """All diagnostics, one block each, blank line between, summary last."""
    shown = [d for d in diagnostics if show_suppressed or d.suppressed_by is None]
    blocks = [format_diagnostic(d, sources) for d in shown]
    if diagnostics:
        blocks.append(summary_line(diagnostics))
    return "\n\n".join(blocks) + ("\n" if blocks else "")


def render_json(diagnostics: Sequence[Diagnostic], **extra: object) -> str:
    """A JSON document: ``{"version": 1, "diagnostics": [...], "summary": {...}}``."""
    active = [d for d in diagnostics if d.suppressed_by is None]
    doc: dict[str, object] = {
        "version": JSON_FORMAT_VERSION,
        "diagnostics": [d.to_json() for d in diagnostics],
        "summary": {
            "errors": sum(d.severity is Severity.ERROR for d in active),
            "warnings": sum(d.severity is Severity.WARNING for d in active),
            "notes": sum(d.severity is Severity.NOTE for d in active),
            "suppressed": len(diagnostics) - len(active),
        },
    }
    doc.update(extra)
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"
