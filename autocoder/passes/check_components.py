"""Components: the kind exists, the ports fit the kind, port types resolve, plugin configs
validate, and custom logic is announced."""

from __future__ import annotations

from jsonschema import Draft202012Validator

from autocoder.diagnostics import codes
from autocoder.diagnostics.suggest import did_you_mean
from autocoder.ir.models import Component, Port, PortClass
from autocoder.ir.typesys import PORT_BUILTINS
from autocoder.kinds import KindSpec, PortRule, registry
from autocoder.passes.context import PassContext


def check_components(ctx: PassContext) -> None:
    kinds = registry()
    for component in ctx.ir.components:
        for port in (*component.inputs, *component.outputs):
            _check_port_type(ctx, port)
        spec = kinds.get(component.kind)
        if spec is None:
            ctx.report(
                codes.UNKNOWN_KIND,
                f"unknown component kind {component.kind!r}",
                component.origin + "/kind",
                hint=did_you_mean(component.kind, kinds, what="kinds"),
            )
            continue
        _check_shape(ctx, component, spec, "input", component.inputs, spec.inputs)
        _check_shape(ctx, component, spec, "output", component.outputs, spec.outputs)
        if spec.config_schema is not None:
            for error in Draft202012Validator(spec.config_schema).iter_errors(component.config):
                path = "".join(f"/{p}" for p in error.absolute_path)
                ctx.report(
                    codes.SCHEMA_VIOLATION, error.message, component.origin + "/config" + path
                )
        if component.logic.mode == "custom":
            owner = "an LLM" if component.logic.owner == "llm" else "a person"
            ctx.report(
                codes.LOGIC_UNIMPLEMENTED,
                f"component {component.name!r} has custom logic owned by {owner}; "
                "its implementation lives in a user-owned module",
                component.origin + "/logic",
            )


def _check_port_type(ctx: PassContext, port: Port) -> None:
    if port.type not in PORT_BUILTINS and port.type not in ctx.types:
        ctx.report(
            codes.UNKNOWN_TYPE,
            f"port {port.component}.{port.name} has unknown type {port.type!r}",
            port.origin + "/type",
            hint=did_you_mean(port.type, [*ctx.types, *PORT_BUILTINS], what="types"),
        )


def _check_shape(
    ctx: PassContext,
    component: Component,
    spec: KindSpec,
    direction: str,
    ports: list[Port],
    rule: PortRule,
) -> None:
    data = [p for p in ports if p.port_class is PortClass.DATA]
    where = component.origin + ("/inputs" if direction == "input" else "/outputs")
    if len(data) < rule.min or (rule.max is not None and len(data) > rule.max):
        ctx.report(
            codes.PORT_SHAPE,
            f"a {spec.name} takes {rule.describe(direction)}; {component.name!r} declares "
            f"{len(data)}",
            where if ports else component.origin,
            key=True,
            hint="error- and control-class ports (`class: error|control`) do not count",
        )
    names = {p.name for p in data}
    for required in rule.required_names:
        if required not in names:
            ctx.report(
                codes.PORT_SHAPE,
                f"a {spec.name} needs an {direction} port named {required!r}",
                where if ports else component.origin,
                key=True,
            )
    if rule.allowed_names is not None:
        for port in data:
            if port.name not in rule.allowed_names:
                ctx.report(
                    codes.PORT_SHAPE,
                    f"a {spec.name}'s {direction} ports are "
                    f"{' and '.join(map(repr, rule.allowed_names))}, not {port.name!r}",
                    port.origin,
                    key=True,
                    hint=did_you_mean(port.name, rule.allowed_names, what="ports"),
                )
