"""Cycles: a call cycle always deadlocks; a stream cycle is allowed only when one of its
bindings declares ``qos: {feedback: true}``."""

from __future__ import annotations

from collections import defaultdict

from autocoder.diagnostics import codes
from autocoder.ir.graph import ComponentGraph, Edge
from autocoder.ir.models import IR, Direction, Port
from autocoder.kinds import registry
from autocoder.passes.context import PassContext


def check_cycles(ctx: PassContext) -> None:
    origins = {b.id: b.origin for b in ctx.ir.bindings} | {c.id: c.origin for c in ctx.ir.calls}
    graph = ComponentGraph.from_ir(_sound_ir(ctx))
    parallel: dict[tuple[str, str], list[Edge]] = defaultdict(list)
    for edge in graph.edges():
        parallel[edge.source, edge.target].append(edge)
    for cycle in graph.cycles():
        path = " -> ".join([e.source for e in cycle] + [cycle[0].source])
        hops = [parallel[e.source, e.target] for e in cycle]
        calls = [e for edges in hops for e in edges if e.style == "call"]
        if calls:
            ctx.report(
                codes.ILLEGAL_CYCLE,
                f"request/reply calls form a cycle: {path}",
                origins[calls[0].ref],
                hint="a call cycle always deadlocks; break it",
            )
        # A hop is a feedback hop only when every binding along it is marked as feedback:
        # a second, unmarked binding between the same components closes the loop again.
        elif not any(all(e.feedback for e in edges) for edges in hops):
            closing = sorted((e for e in hops[-1] if not e.feedback), key=lambda e: e.ref)[0]
            ctx.report(
                codes.ILLEGAL_CYCLE,
                f"streams form a cycle: {path}",
                origins[closing.ref],
                hint="if the loop is deliberate, set `qos: {feedback: true}` on one "
                "of its bindings",
            )


def _sound_ir(ctx: PassContext) -> IR:
    """The IR without the edges other passes already reject (unknown or wrong-direction ports,
    calls to components that cannot be called): they would only add cascading cycle errors."""
    kinds = registry()
    bindings = []
    for binding in ctx.ir.bindings:
        if not _is(ctx.port(binding.source.component, binding.source.port), Direction.OUT):
            continue
        targets = [t for t in binding.targets if _is(ctx.port(t.component, t.port), Direction.IN)]
        if targets:
            bindings.append(binding.model_copy(update={"targets": targets}))
    calls = []
    for call in ctx.ir.calls:
        target = ctx.components.get(call.target.component)
        spec = kinds.get(target.kind) if target is not None else None
        if spec is not None and spec.call_target:
            calls.append(call)
    return ctx.ir.model_copy(update={"bindings": bindings, "calls": calls})


def _is(port: Port | None, direction: Direction) -> bool:
    return port is not None and port.direction is direction
