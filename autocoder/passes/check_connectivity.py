"""Connectivity: required inputs are fed, outputs go somewhere, declared types are used."""

from __future__ import annotations

from autocoder.diagnostics import codes
from autocoder.ir.models import Direction
from autocoder.passes.check_types import walk_fields
from autocoder.passes.context import PassContext


def check_connectivity(ctx: PassContext) -> None:
    fed = {str(t) for b in ctx.ir.bindings for t in b.targets}
    drained = {str(b.source) for b in ctx.ir.bindings}
    emitted = {f"{c.name}.{r.emit}" for c in ctx.ir.components for r in c.routes if r.emit}
    for component in ctx.ir.components:
        for port in component.inputs:
            if port.required and f"{component.name}.{port.name}" not in fed:
                ctx.report(
                    codes.UNCONNECTED_PORT,
                    f"input {component.name}.{port.name} is required but no binding feeds it",
                    port.origin,
                    key=True,
                    hint="add a binding to it, or declare it `required: false`",
                )
        for port in component.outputs:
            if f"{component.name}.{port.name}" not in drained:
                extra = " (routes emit on it)" if f"{component.name}.{port.name}" in emitted else ""
                ctx.report(
                    codes.DANGLING_OUTPUT,
                    f"output {component.name}.{port.name} is not bound to anything{extra}",
                    port.origin,
                    key=True,
                )
    _check_unused_types(ctx)


def _check_unused_types(ctx: PassContext) -> None:
    used: set[str] = set()
    for component in ctx.ir.components:
        used.update(
            p.type
            for p in (*component.inputs, *component.outputs)
            if p.direction in (Direction.IN, Direction.OUT)
        )
        for route in component.routes:
            used.update(t for t in (route.request, route.response.type) if t)
        if component.kind == "store":
            used.add(str(component.config.get("entity")))
    for type_ in ctx.ir.types:
        for schema, _ in walk_fields(type_.schema_, ""):
            named = schema.get("type")
            # A recursive type (a tree node's `children`) does not use itself.
            if isinstance(named, str) and named in ctx.types and named != type_.name:
                used.add(named)
    for type_ in ctx.ir.types:
        if type_.name not in used:
            ctx.report(
                codes.UNUSED_TYPE, f"type {type_.name!r} is not used", type_.origin, key=True
            )
