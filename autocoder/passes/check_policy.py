"""Policy: SLOs name real routes."""

from __future__ import annotations

from autocoder.diagnostics import codes
from autocoder.diagnostics.suggest import did_you_mean
from autocoder.passes.context import PassContext


def check_policy(ctx: PassContext) -> None:
    operations = {r.operation_id for c in ctx.ir.components for r in c.routes}
    for slo in ctx.ir.policy.slos:
        if slo.route not in operations:
            ctx.report(
                codes.UNKNOWN_ROUTE,
                f"SLO for unknown route {slo.route!r}",
                slo.origin + "/route",
                hint=did_you_mean(slo.route, operations, what="routes"),
            )
