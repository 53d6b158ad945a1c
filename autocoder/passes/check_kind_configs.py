"""Kind-specific semantics the schema cannot express: fields named in configs exist, router
targets are real ports, filters and routers keep their message type, store sinks hit stores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from autocoder.diagnostics import codes
from autocoder.diagnostics.suggest import did_you_mean
from autocoder.ir.models import Component, PortClass
from autocoder.ir.typesys import (
    field_incompatibility,
    incompatibility,
    write_exempt_fields,
)
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
    strategy = c.config["key_strategy"]
    if key not in fields:
        ctx.report(
            codes.UNKNOWN_FIELD,
            f"key {key!r} is not a field of {entity}",
            origin + ("/key" if ctx.written(origin + "/key") else "/entity"),
            hint=did_you_mean(key, fields, what="fields")
            if ctx.written(origin + "/key")
            else f"the key defaults to 'id'; set `key:` to one of: {', '.join(sorted(fields))}",
        )
    else:
        key_type = _field_type(ctx, fields[key])
        expected = {"uuid": "string", "autoincrement": "integer"}.get(strategy)
        if expected and key_type != expected:
            written = next(
                k for k in ("key_strategy", "key", "entity") if ctx.written(f"{origin}/{k}")
            )
            ctx.report(
                codes.INVALID_CONFIG,
                f"key_strategy {strategy!r} needs a {expected} key; {entity}.{key} is {key_type}",
                f"{origin}/{written}",
                hint=None
                if written == "key_strategy"
                else "key_strategy defaults to 'uuid'; set it to 'autoincrement' or 'provided'",
            )
    for setting, label in (("unique", "unique key"), ("filters", "filter")):
        for i, name in enumerate(c.config.get(setting, [])):
            _need_field(ctx, fields, name, entity, f"{origin}/{setting}/{i}", label)
    for i, index in enumerate(c.config.get("indexes", [])):
        names = (
            [(name, f"{origin}/indexes/{i}") for name in [index]]
            if isinstance(index, str)
            else [(name, f"{origin}/indexes/{i}/{j}") for j, name in enumerate(index)]
        )
        for name, where in names:
            _need_field(ctx, fields, name, entity, where, "indexed field")
    if c.config["page_size"] > c.config["max_page_size"]:
        ctx.report(
            codes.INVALID_CONFIG,
            f"page_size {c.config['page_size']} is larger than max_page_size "
            f"{c.config['max_page_size']}",
            origin + ("/page_size" if ctx.written(origin + "/page_size") else "/max_page_size"),
        )
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
    out = outputs[0]
    fields = object_fields(ctx, out.type)
    computed = c.config.get("set", {})
    for name in computed:
        _need_field(ctx, fields, name, out.type, c.origin + f"/config/set/{name}", "computed field")
    inputs = _data_inputs(c)
    if fields is None or len(inputs) != 1 or c.logic.mode == "custom":
        return  # custom logic builds the output itself: what config copies says nothing
    in_fields = object_fields(ctx, inputs[0])
    if in_fields is None and inputs[0] not in ctx.types:
        return  # untyped (any, object) or unknown (reported): copies are not known here
    in_required = set(_required(ctx, inputs[0]))
    copy = c.config["copy"]
    for name in _required(ctx, out.type):
        if name in computed or name not in fields or _filled_later(fields[name]):
            continue
        if not copy or in_fields is None or name not in in_fields:
            why = "copy is off" if not copy else f"{inputs[0]} has no field {name!r} to copy"
            ctx.report(
                codes.INVALID_CONFIG,
                f"transformer {c.name!r} never sets the required field {name!r} of "
                f"{out.type} ({why})",
                out.origin + "/type",
                hint=f"add `set: {{{name}: EXPRESSION}}`",
            )
        elif name not in in_required and "default" not in in_fields[name]:
            ctx.report(
                codes.INVALID_CONFIG,
                f"transformer {c.name!r} copies {name!r} from {inputs[0]}, where it is "
                f"optional, but {out.type} requires it",
                out.origin + "/type",
                hint=f"add `set: {{{name}: EXPRESSION}}`, or make it required in {inputs[0]}",
            )
    if not copy or in_fields is None:
        return
    for name in sorted(set(fields) & set(in_fields) - set(computed)):
        reason = field_incompatibility(in_fields[name], fields[name], ctx.types)
        if reason:
            ctx.report(
                codes.INVALID_CONFIG,
                f"transformer {c.name!r} copies {name!r} from {inputs[0]} into {out.type}, "
                f"but the types differ: {reason}",
                out.origin + "/type",
                hint=f"compute it with `set: {{{name}: EXPRESSION}}`, or align the types",
            )


def _filled_later(field: dict[str, Any]) -> bool:
    """A field the message need not carry: it has a default, or the server sets it."""
    return "default" in field or bool(field.get("readOnly"))


def _required(ctx: PassContext, type_name: str) -> list[str]:
    type_ = ctx.types.get(type_name)
    seen = 0
    while type_ is not None and "properties" not in type_.schema_ and seen < 32:
        type_ = ctx.types.get(str(type_.schema_.get("type")))
        seen += 1
    return list(type_.schema_.get("required", [])) if type_ is not None else []


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
    if out_fields is None:
        return
    out = outputs[0]
    keys = [k for k in c.config.get("group_by", []) if in_fields is None or k in in_fields]
    results: dict[str, dict[str, Any] | None] = {}
    for key in keys:
        results[key] = in_fields[key] if in_fields is not None else None
    for name, agg in c.config["aggregates"].items():
        if name in c.config.get("group_by", []):
            ctx.report(
                codes.INVALID_CONFIG,
                f"aggregate {name!r} has the name of a group_by key; both would be written "
                f"to {out.type}.{name}",
                f"{origin}/aggregates/{name}",
                key=True,
            )
            continue
        results[name] = _aggregate_schema(ctx, agg, in_fields)
    for name, schema in results.items():
        if name not in out_fields:
            what = "group key" if name in keys else "aggregate"
            ctx.report(
                codes.UNKNOWN_FIELD,
                f"the output type {out.type} has no field {name!r} to hold the {what}",
                out.origin + "/type",
            )
            continue
        reason = field_incompatibility(schema, out_fields[name], ctx.types) if schema else None
        if reason:
            ctx.report(
                codes.INVALID_CONFIG,
                f"{out.type}.{name} cannot hold the {'group key' if name in keys else 'aggregate'}"
                f" {name!r}: {reason}",
                out.origin + "/type",
            )
    for name in _required(ctx, out.type):
        if name not in results and name in out_fields and not _filled_later(out_fields[name]):
            ctx.report(
                codes.INVALID_CONFIG,
                f"aggregator {c.name!r} never sets the required field {name!r} of {out.type} "
                "(it is neither a group_by key nor an aggregate)",
                out.origin + "/type",
            )


def _aggregate_schema(
    ctx: PassContext, agg: dict[str, Any], in_fields: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The schema of an aggregate's result, or None when the input field is unknown."""
    fn = agg["fn"]
    if fn == "count":
        return {"type": "integer"}
    if fn == "avg":
        return {"type": "number"}
    if in_fields is None or agg.get("field") not in in_fields:
        return None
    field = in_fields[agg["field"]]
    if fn == "sum":
        kind = _field_type(ctx, field)
        return {"type": kind} if kind in NUMERIC else None
    return {k: v for k, v in field.items() if k not in ("default", "readOnly", "description")}


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
    operation = store.get("operation", "create")
    offered = target.config.get("operations", [])
    if operation not in offered:
        op_where = c.origin + "/config/store/operation"
        ctx.report(
            codes.UNKNOWN_OPERATION,
            f"store {target.name!r} does not offer {operation!r}",
            op_where if ctx.written(op_where) else where,
            hint=f"known operations: {', '.join(offered)}",
        )
        return
    entity = target.config.get("entity", "")
    if entity not in ctx.types:
        return
    key = target.config["key"]
    exempt = write_exempt_fields(entity, key, target.config["key_strategy"], ctx.types)
    for port_type in _data_inputs(c):
        if operation == "create":
            reason = incompatibility(port_type, entity, ctx.types, exempt=exempt)
            if reason:
                ctx.report(
                    codes.INCOMPATIBLE_BINDING,
                    f"sink input type {port_type} cannot be "
                    f"written to store {target.name!r} ({entity}): {reason}",
                    where,
                )
            continue
        fields = object_fields(ctx, port_type)
        entity_fields = object_fields(ctx, entity) or {}
        if fields is None or key not in entity_fields:
            continue  # an unknown key is reported with the store
        if key not in fields:
            ctx.report(
                codes.INVALID_CONFIG,
                f"an update needs the key: sink input type {port_type} has no field {key!r} "
                f"to select the {entity} to update in store {target.name!r}",
                where,
            )
            continue
        for name in sorted(set(fields) & set(entity_fields)):
            reason = field_incompatibility(fields[name], entity_fields[name], ctx.types)
            if reason:
                ctx.report(
                    codes.INCOMPATIBLE_BINDING,
                    f"sink input type {port_type} cannot update {entity} in store "
                    f"{target.name!r}: {reason} at field {name!r}",
                    where,
                )
                break


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
