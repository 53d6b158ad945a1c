"""Bindings: both ends exist, run from an output to inputs, carry compatible types, and are
not repeated."""

from __future__ import annotations

from autocoder.diagnostics import codes
from autocoder.diagnostics.suggest import did_you_mean
from autocoder.ir.models import Direction, Endpoint, Port
from autocoder.ir.typesys import incompatibility
from autocoder.passes.context import PassContext


def _resolve(ctx: PassContext, end: Endpoint, origin: str) -> Port | None:
    component = ctx.components.get(end.component)
    if component is None:
        ctx.report(
            codes.UNKNOWN_COMPONENT,
            f"unknown component {end.component!r} in {end}",
            origin,
            hint=did_you_mean(end.component, ctx.components, what="components"),
        )
        return None
    port = component.port(end.port)
    if port is None:
        names = [p.name for p in (*component.inputs, *component.outputs)]
        ctx.report(
            codes.UNKNOWN_PORT,
            f"component {end.component!r} has no port {end.port!r}",
            origin,
            hint=did_you_mean(end.port, names, what="ports")
            or f"declare it under `inputs:` or `outputs:` of {end.component!r}",
        )
    return port


def check_bindings(ctx: PassContext) -> None:
    seen: set[tuple[str, str]] = set()
    for binding in ctx.ir.bindings:
        source = _resolve(ctx, binding.source, binding.origin + "/from")
        if source is not None and source.direction is not Direction.OUT:
            ctx.report(
                codes.WRONG_PORT_DIRECTION,
                f"{binding.source} is an input port; `from:` must name an output",
                binding.origin + "/from",
            )
            source = None
        for i, target_end in enumerate(binding.targets):
            where = binding.origin + ("/to" if len(binding.targets) == 1 else f"/to/{i}")
            target = _resolve(ctx, target_end, where)
            if target is None:
                continue
            if target.direction is not Direction.IN:
                ctx.report(
                    codes.WRONG_PORT_DIRECTION,
                    f"{target_end} is an output port; `to:` must name inputs",
                    where,
                )
                continue
            pair = (str(binding.source), str(target_end))
            if pair in seen:
                ctx.report(
                    codes.DUPLICATE_BINDING, f"{pair[0]} is already bound to {pair[1]}", where
                )
            seen.add(pair)
            if source is None:
                continue
            reason = incompatibility(source.type, target.type, ctx.types)
            if reason:
                ctx.report(
                    codes.INCOMPATIBLE_BINDING,
                    f"{binding.source} ({source.type}) cannot feed {target_end} "
                    f"({target.type}): {reason}",
                    where,
                    hint="add a transformer between them, or align the types",
                )
