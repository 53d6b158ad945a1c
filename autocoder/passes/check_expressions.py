"""Expressions parse as CEL: filter conditions, router ``when``, transformer ``set`` and source
``payload`` values. The generated service evaluates the same expressions with cel-python."""

from __future__ import annotations

from collections.abc import Iterator

from autocoder.diagnostics import Span, codes
from autocoder.frontend.loader import join_pointer
from autocoder.ir.models import Component
from autocoder.passes.context import PassContext


def expressions(component: Component) -> Iterator[tuple[str, str]]:
    """(JSON pointer below the component's config, expression) for every expression."""
    config = component.config
    if component.kind == "filter" and isinstance(config.get("condition"), str):
        yield "/condition", config["condition"]
    if component.kind == "router":
        for index, route in enumerate(config.get("routes", [])):
            yield f"/routes/{index}/when", route["when"]
    for key in ("set", "payload"):
        if component.kind in ("transformer", "source"):
            for field, text in config.get(key, {}).items():
                yield join_pointer(f"/{key}", field), text


def check_expressions(ctx: PassContext) -> None:
    found = [(c, p, e) for c in ctx.ir.components for p, e in expressions(c)]
    if not found:
        return
    import celpy  # imported here: it costs a quarter of a second and most systems need none

    env = celpy.Environment()
    verdicts: dict[str, int | None] = {}  # expression -> caret column of its error, or None
    for component, pointer, text in found:
        if text not in verdicts:
            try:
                env.compile(text)
                verdicts[text] = None
            except celpy.CELParseError as exc:
                verdicts[text] = _caret_column(str(exc))
        column = verdicts[text]
        if column is not None:
            _report_at(ctx, component, pointer, text, column)


def _caret_column(rendered: str) -> int:
    """cel-python renders the expression and a caret line; the caret's 1-based column."""
    lines = rendered.splitlines()
    return lines[1].index("^") + 1 if len(lines) > 1 and "^" in lines[1] else 1


def _report_at(
    ctx: PassContext, component: Component, pointer: str, text: str, column: int
) -> None:
    """Point the caret at the offending character inside the YAML scalar when it is on one line."""
    base, _, component_pointer = component.origin.partition("#")
    file = ctx.files.get(base, base)
    full = component_pointer + "/config" + pointer
    span = ctx.sink.span_for(file, full)
    line = ctx.sink.sources.get(file, "").splitlines()[span.line - 1] if span.line else ""
    quoted = line[span.col - 1 : span.col] in ("'", '"') if span.col else False
    if span.line and span.end_line == span.line and "\n" not in text:
        at = span.col + int(quoted) + column - 1
        span = Span(file, span.line, at, span.line, at + 1)
    ctx.sink.report(
        codes.INVALID_EXPRESSION,
        f"expression {text!r} of {component.name!r} does not parse (column {column})",
        span=span,
        pointer=full,
        hint="expressions are CEL, for example `msg.total > 0.0 && msg.status == 'new'`",
    )
