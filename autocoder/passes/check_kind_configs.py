"""Kind-specific semantics the schema cannot express: fields named in configs exist, router
targets are real ports, filters and routers keep their message type, store sinks hit stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autocoder.diagnostics import codes
from autocoder.ir.models import Component, PortClass
from autocoder.ir.typesys import incompatibility, write_exempt_fields
from autocoder.passes._suggest import did_you_mean
from autocoder.passes.context import PassContext

NUMERIC = ("integer", "number")


def object_fields(ctx: PassContext, type_name: str) -> dict[str, Any] | None:
    """The properties of a named object type, or None when it is not one."""
    seen = 0
    type_ = ctx.types.get(type_name)
    while type_ is not None and seen < 32:
        schema = type_.schema_
        if "properties" in schema:
            return dict(schema["properties"])
        type_ = ctx.types.get(str(schema.get("type")))
        seen += 1
    return None


def _field_type(ctx: PassContext, field: dict[str, Any]) -> str:
    kind = str(field.get("type", "any"))
    while kind in ctx.types and "properties" not in ctx.types[kind].schema_:
        kind = str(ctx.types[kind].schema_.get("type", "object"))
    return kind


def _data_inputs(c: Component) -> list[str]:
    return [p.type for p in c.inputs if p.port_class is not PortClass.ERROR]


def _need_field(
    ctx: PassContext,
    fields: dict[str, Any] | None,
    name: str,
    type_name: str,
    origin: str,
    what: str,
) -> bool:
    if fields is None or name in fields:
        return True
    ctx.report(
        codes.UNKNOWN_FIELD,
        f"{what} {name!r} is not a field of {type_name}",
        origin,
        hint=did_you_mean(name, fields, what="fields"),
    )
    return False


def _check_store(ctx: PassContext, c: Component) -> None:
    entity = c.config["entity"]
    origin = c.origin + "/config"
    if entity not in ctx.types:
        ctx.report(
            codes.UNKNOWN_TYPE,
            f"store entity {entity!r} is not a declared type",
            origin + "/entity",
            hint=did_you_mean(entity, ctx.types, what="types"),
        )
        return
    fields = object_fields(ctx, entity)
    if fields is None:
        ctx.report(
            codes.INVALID_CONFIG,
            f"store entity {entity!r} must be an object type with properties",
            origin + "/entity",
        )
        return
    key = c.config["key"]
    if _need_field(ctx, fields, key, entity, origin + ("/key" if "key" in c.config else ""), "key"):
        key_type = _field_type(ctx, fields[key])
        strategy = c.config["key_strategy"]
        expected = {"uuid": "string", "autoincrement": "integer"}.get(strategy)
        if expected and key_type != expected:
            ctx.report(
                codes.INVALID_CONFIG,
                f"key_strategy {strategy!r} needs a {expected} key; {entity}.{key} is {key_type}",
                origin + "/key_strategy" if "key_strategy" in c.config else origin,
            )
    for setting in ("unique", "filters"):
        for i, name in enumerate(c.config.get(setting, [])):
            _need_field(ctx, fields, name, entity, f"{origin}/{setting}/{i}", setting.rstrip("s"))
    for i, index in enumerate(c.config.get("indexes", [])):
        for name in [index] if isinstance(index, str) else index:
            _need_field(ctx, fields, name, entity, f"{origin}/indexes/{i}", "indexed field")
    exempt = write_exempt_fields(entity, key, c.config["key_strategy"], ctx.types)
    for port in c.inputs:
        if port.type in ctx.types or port.type == "any":
            reason = incompatibility(port.type, entity, ctx.types, exempt=exempt)
            if reason:
                ctx.report(
                    codes.INCOMPATIBLE_BINDING,
                    f"store input {port.name!r} of type "
                    f"{port.type} cannot be written as {entity}: {reason}",
                    port.origin + "/type",
                )


def _same_type_outputs(ctx: PassContext, c: Component) -> None:
    inputs = _data_inputs(c)
    if len(inputs) != 1:
        return
    for port in c.outputs:
        if port.port_class is PortClass.ERROR:
            continue
        reason = incompatibility(inputs[0], port.type, ctx.types)
        if reason:
            ctx.report(
                codes.INCOMPATIBLE_BINDING,
                f"a {c.kind} passes its input through unchanged, but output "
                f"{port.name!r} ({port.type}) cannot hold input type {inputs[0]}: {reason}",
                port.origin + "/type",
            )


def _check_filter(ctx: PassContext, c: Component) -> None:
    _same_type_outputs(ctx, c)


def _check_router(ctx: PassContext, c: Component) -> None:
    outputs = {p.name for p in c.outputs}
    targets = [(r["to"], f"/config/routes/{i}/to") for i, r in enumerate(c.config["routes"])]
    if "default" in c.config:
        targets.append((c.config["default"], "/config/default"))
    for port, where in targets:
        if port not in outputs:
            ctx.report(
                codes.UNKNOWN_PORT,
                f"router {c.name!r} has no output port {port!r}",
                c.origin + where,
                hint=did_you_mean(port, outputs, what="outputs"),
            )
    used = {t for t, _ in targets}
    for port in c.outputs:
        if port.port_class is not PortClass.ERROR and port.name not in used:
            ctx.report(
                codes.INVALID_CONFIG,
                f"router output {port.name!r} is not the target "
                "of any route (nothing would ever reach it)",
                port.origin,
                key=True,
            )
    _same_type_outputs(ctx, c)


def _check_transformer(ctx: PassContext, c: Component) -> None:
    outputs = [p for p in c.outputs if p.port_class is not PortClass.ERROR]
    if not outputs:
        return
    fields = object_fields(ctx, outputs[0].type)
    for name in c.config.get("set", {}):
        _need_field(
            ctx, fields, name, outputs[0].type, c.origin + f"/config/set/{name}", "computed field"
        )


def _check_aggregator(ctx: PassContext, c: Component) -> None:
    inputs = _data_inputs(c)
    in_fields = object_fields(ctx, inputs[0]) if len(inputs) == 1 else None
    origin = c.origin + "/config"
    window = c.config["window"]
    if window.get("type") == "sliding" and "slide" not in window:
        ctx.report(
            codes.INVALID_CONFIG, "a sliding window needs 'slide'", origin + "/window", key=True
        )
    for i, name in enumerate(c.config.get("group_by", [])):
        _need_field(
            ctx,
            in_fields,
            name,
            inputs[0] if inputs else "?",
            f"{origin}/group_by/{i}",
            "group_by field",
        )
    for out_name, agg in c.config["aggregates"].items():
        where = f"{origin}/aggregates/{out_name}"
        if agg["fn"] != "count" and "field" not in agg:
            ctx.report(
                codes.INVALID_CONFIG, f"aggregate {agg['fn']!r} needs a 'field'", where, key=True
            )
            continue
        if "field" in agg and in_fields is not None:
            if not _need_field(ctx, in_fields, agg["field"], inputs[0], where + "/field", "field"):
                continue
            kind = _field_type(ctx, in_fields[agg["field"]])
            if agg["fn"] in ("sum", "avg") and kind not in NUMERIC:
                ctx.report(
                    codes.INVALID_CONFIG,
                    f"{agg['fn']} needs a numeric field; {inputs[0]}.{agg['field']} is {kind}",
                    where + "/field",
                )
    outputs = [p for p in c.outputs if p.port_class is not PortClass.ERROR]
    out_fields = object_fields(ctx, outputs[0].type) if outputs else None
    if out_fields is not None:
        keys = [k for k in c.config.get("group_by", []) if in_fields is None or k in in_fields]
        for name in [*keys, *c.config["aggregates"]]:
            if name not in out_fields:
                ctx.report(
                    codes.UNKNOWN_FIELD,
                    f"the output type {outputs[0].type} has no field "
                    f"{name!r} to hold the group key or aggregate",
                    outputs[0].origin + "/type",
                )


def _check_sink(ctx: PassContext, c: Component) -> None:
    store = c.config.get("store")
    if store is None:
        return
    where = c.origin + "/config/store/component"
    target = ctx.components.get(store["component"])
    if target is None:
        ctx.report(
            codes.UNKNOWN_COMPONENT,
            f"unknown store component {store['component']!r}",
            where,
            hint=did_you_mean(store["component"], ctx.components, what="components"),
        )
        return
    if target.kind != "store":
        ctx.report(
            codes.UNKNOWN_OPERATION, f"{target.name!r} is of kind {target.kind}, not a store", where
        )
        return
    entity = target.config.get("entity", "")
    if entity not in ctx.types:
        return
    exempt = write_exempt_fields(
        entity, target.config["key"], target.config["key_strategy"], ctx.types
    )
    for port_type in _data_inputs(c):
        if store.get("operation", "create") == "create":
            reason = incompatibility(port_type, entity, ctx.types, exempt=exempt)
            if reason:
                ctx.report(
                    codes.INCOMPATIBLE_BINDING,
                    f"sink input type {port_type} cannot be "
                    f"written to store {target.name!r} ({entity}): {reason}",
                    where,
                )


CHECKS: dict[str, Callable[[PassContext, Component], None]] = {
    "store": _check_store,
    "filter": _check_filter,
    "router": _check_router,
    "transformer": _check_transformer,
    "aggregator": _check_aggregator,
    "sink": _check_sink,
}


def check_kind_configs(ctx: PassContext) -> None:
    for component in ctx.ir.components:
        check = CHECKS.get(component.kind)
        if check is not None:
            check(ctx, component)
