"""Cycles: a call cycle always deadlocks; a stream cycle is allowed only when one of its
bindings declares ``qos: {feedback: true}``."""

from __future__ import annotations

from autocoder.diagnostics import codes
from autocoder.ir.graph import ComponentGraph
from autocoder.passes.context import PassContext


def check_cycles(ctx: PassContext) -> None:
    origins = {b.id: b.origin for b in ctx.ir.bindings} | {c.id: c.origin for c in ctx.ir.calls}
    for cycle in ComponentGraph.from_ir(ctx.ir).cycles():
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
