"""Cycles: a call cycle always deadlocks; a stream cycle is allowed only when one of its
bindings declares ``qos: {feedback: true}``."""

from __future__ import annotations

from autocoder.diagnostics import codes
from autocoder.ir.graph import ComponentGraph
from autocoder.ir.models import Direction, Port
from autocoder.kinds import registry
from autocoder.passes.context import PassContext


def check_cycles(ctx: PassContext) -> None:
    origins = {b.id: b.origin for b in ctx.ir.bindings} | {c.id: c.origin for c in ctx.ir.calls}
    kinds = registry()

    def callable_target(name: str) -> bool:
        component = ctx.components.get(name)
        spec = kinds.get(component.kind) if component else None
        return spec is not None and spec.call_target

    # Bindings with a wrong-direction or unknown port are already errors; they form no cycle.
    sound = {
        (b.id, t.component)
        for b in ctx.ir.bindings
        for t in b.targets
        if _is(ctx.port(b.source.component, b.source.port), Direction.OUT)
        and _is(ctx.port(t.component, t.port), Direction.IN)
    }
    for cycle in ComponentGraph.from_ir(ctx.ir).cycles():
        if any(e.style == "call" and not callable_target(e.target) for e in cycle):
            continue  # a call to something that cannot be called is already an error
        if any(e.style == "stream" and (e.ref, e.target) not in sound for e in cycle):
            continue
        path = " -> ".join([e.source for e in cycle] + [cycle[0].source])
        calls = [e for e in cycle if e.style == "call"]
        if calls:
            ctx.report(
                codes.ILLEGAL_CYCLE,
                f"request/reply calls form a cycle: {path}",
                origins[calls[0].ref],
                hint="a call cycle always deadlocks; break it",
            )
        elif not any(e.feedback for e in cycle):
            ctx.report(
                codes.ILLEGAL_CYCLE,
                f"streams form a cycle: {path}",
                origins[cycle[-1].ref],
                hint="if the loop is deliberate, set `qos: {feedback: true}` on one "
                "of its bindings",
            )


def _is(port: Port | None, direction: Direction) -> bool:
    return port is not None and port.direction is direction
