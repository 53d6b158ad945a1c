"""Semantic passes, one per module (``verb_noun``), run in the order of ``PASSES``.

A pass reads the IR and reports through ``ctx.report``; it never raises for user errors and
never adds components, ports or bindings.
"""

from __future__ import annotations

from collections.abc import Callable

from autocoder.passes.check_bindings import check_bindings
from autocoder.passes.check_components import check_components
from autocoder.passes.check_connectivity import check_connectivity
from autocoder.passes.check_cycles import check_cycles
from autocoder.passes.check_deployment import check_deployment
from autocoder.passes.check_expressions import check_expressions
from autocoder.passes.check_kind_configs import check_kind_configs
from autocoder.passes.check_names import check_names
from autocoder.passes.check_policy import check_policy
from autocoder.passes.check_routes import check_routes
from autocoder.passes.check_secrets import check_secrets
from autocoder.passes.check_types import check_types
from autocoder.passes.context import PassContext

Pass = Callable[[PassContext], None]

PASSES: tuple[Pass, ...] = (
    check_names,
    check_types,
    check_components,
    check_kind_configs,
    check_expressions,
    check_routes,
    check_bindings,
    check_connectivity,
    check_cycles,
    check_policy,
    check_secrets,
    check_deployment,
)


def run_passes(ctx: PassContext) -> None:
    for pass_ in PASSES:
        pass_(ctx)


__all__ = ["PASSES", "PassContext", "run_passes"]
