"""API routes: unique method+path and operation ids, sane path parameters, call targets that
exist and fit, request/response types that resolve, and emits onto real output ports."""

from __future__ import annotations

import re

from autocoder.diagnostics import Severity, codes
from autocoder.diagnostics.suggest import did_you_mean
from autocoder.frontend.loader import join_pointer
from autocoder.frontend.lower import ARCHITECTURE, PATH_PARAM
from autocoder.ir.endpoints import (
    LABELS,
    OWN_PATHS,
    RESERVED_PATHS,
    ServiceEndpoints,
    claims,
    contract_routes,
)
from autocoder.ir.endpoints import service_endpoints as find_service_endpoints
from autocoder.ir.models import Component, QueryParam, Route
from autocoder.ir.typesys import (
    BUILTIN_TYPES,
    field_incompatibility,
    incompatibility,
    write_exempt_fields,
)
from autocoder.kinds import registry
from autocoder.passes.check_kind_configs import object_fields
from autocoder.passes.context import PassContext

KEYED_OPERATIONS = ("get", "update", "delete")


def _shape(path: str) -> str:
    return PATH_PARAM.sub("{}", path.rstrip("/") or "/")


def check_routes(ctx: PassContext) -> None:
    endpoints = find_service_endpoints(ctx.ir)
    _report_moved(ctx, endpoints)
    seen_paths: dict[tuple[str, str], Route] = {}
    seen_ids: dict[str, Route] = {}
    for api in (c for c in ctx.ir.components if c.kind == "api"):
        for route in api.routes:
            key = (route.method, _shape(route.path))
            if key in seen_paths and route.contract is not None:
                first = seen_paths[key]
                # A contract as published: report it, serve it (the first one wins).
                ctx.report(
                    codes.DUPLICATE_ROUTE,
                    f"operation {route.method} {route.path} cannot be reached: the contract "
                    f"also has {first.method} {first.path} ({first.operation_id}), which "
                    "matches the same requests and is served",
                    route.origin,
                    severity=Severity.WARNING,
                    hint="OpenAPI forbids paths that differ only in parameter names; rename or "
                    "merge one in the contract",
                )
            elif key in seen_paths:
                first = seen_paths[key]
                ctx.report(
                    codes.DUPLICATE_ROUTE,
                    f"route {route.method} {route.path} duplicates {first.method} "
                    f"{first.path} ({first.operation_id})",
                    route.origin + "/path",
                )
            seen_paths.setdefault(key, route)
            if route.operation_id in seen_ids:
                ctx.report(
                    codes.DUPLICATE_OPERATION_ID,
                    f"operation_id {route.operation_id!r} is already used by "
                    f"{seen_ids[route.operation_id].method} {seen_ids[route.operation_id].path}",
                    route.origin + "/operation_id",
                )
            seen_ids.setdefault(route.operation_id, route)
            if route.contract is not None:
                _check_contract_route(ctx, api, route, endpoints)
                continue
            _check_path(ctx, route)
            _check_types(ctx, route)
            _check_call(ctx, route)
            _check_emit(ctx, api, route)
            if route.auth and ctx.ir.policy.security.auth == "none":
                ctx.report(
                    codes.INVALID_CONFIG,
                    f"route {route.operation_id!r} requires auth, but the policy sets no scheme",
                    route.origin + "/auth",
                    hint="set `policy.security.auth` (api_key or bearer), or drop `auth: true`",
                )
            if route.call is None and route.emit is None and api.logic.mode != "custom":
                ctx.report(
                    codes.INVALID_CONFIG,
                    f"route {route.operation_id!r} neither calls a store nor emits a "
                    "message, so it would do nothing",
                    route.origin,
                    key=True,
                    hint=f"add `call:` or `emit:`, or give {api.name!r} "
                    "`logic: {mode: custom}` to implement handlers by hand",
                )


def _report_moved(ctx: PassContext, endpoints: ServiceEndpoints) -> None:
    """One warning per own endpoint a contract claimed, at the first operation claiming it."""
    routes = contract_routes(ctx.ir)
    for name in endpoints.moved:
        route = next(r for r in routes if claims(r.path, OWN_PATHS[name]))
        ctx.report(
            codes.SERVICE_ENDPOINT_MOVED,
            f"the contract defines {route.method} {route.path}, so the service's own "
            f"{LABELS[name]} moves from {OWN_PATHS[name]} to {getattr(endpoints, name)}",
            route.origin,
        )


def _check_path(ctx: PassContext, route: Route) -> None:
    if any(claims(route.path, p) for p in RESERVED_PATHS):
        ctx.report(
            codes.RESERVED_ROUTE,
            f"path {route.path} is reserved by the generated service",
            route.origin + "/path",
        )
    for segment in route.path.split("/"):
        braces = "{" in segment or "}" in segment
        if braces and not re.fullmatch(r"\{[A-Za-z_][A-Za-z0-9_]*\}", segment):
            ctx.report(
                codes.PATH_PARAMETER,
                f"path segment {segment!r} must be exactly one parameter '{{name}}' "
                "with an identifier name",
                route.origin + "/path",
            )
    duplicates = {p for p in route.path_params if route.path_params.count(p) > 1}
    for name in sorted(duplicates):
        ctx.report(
            codes.PATH_PARAMETER,
            f"path parameter {name!r} appears more than once",
            route.origin + "/path",
        )
    for param in route.query:
        where = route.origin + f"/query/{param.name}"
        if param.name in route.path_params:
            ctx.report(
                codes.PATH_PARAMETER,
                f"query parameter {param.name!r} has the same name as a path parameter",
                where,
                key=True,
            )
        _check_query_values(ctx, param, where)


def _check_query_values(ctx: PassContext, param: QueryParam, where: str) -> None:
    """A query parameter's default and enum values fit its type, and its bounds are ordered."""
    for index, value in enumerate(param.enum or []):
        if not _fits(value, param.type):
            ctx.report(
                codes.INVALID_VALUE,
                f"enum value {value!r} of query parameter {param.name!r} is not {_a(param.type)}",
                f"{where}/enum/{index}",
            )
    if param.default is not None:
        if not _fits(param.default, param.type):
            ctx.report(
                codes.INVALID_VALUE,
                f"default {param.default!r} of query parameter {param.name!r} is not "
                f"{_a(param.type)}",
                f"{where}/default",
            )
        elif param.enum is not None and param.default not in param.enum:
            ctx.report(
                codes.INVALID_VALUE,
                f"default {param.default!r} of query parameter {param.name!r} is not one of "
                "its enum values",
                f"{where}/default",
            )
    if param.minimum is not None and param.maximum is not None and param.minimum > param.maximum:
        ctx.report(
            codes.INVALID_VALUE,
            f"minimum {param.minimum:g} of query parameter {param.name!r} is greater than its "
            f"maximum {param.maximum:g}",
            f"{where}/minimum",
        )


def _a(kind: str) -> str:
    return f"an {kind}" if kind == "integer" else f"a {kind}"


def _fits(value: object, kind: str) -> bool:
    if isinstance(value, bool):
        return kind == "boolean"
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float)
    return isinstance(value, {"string": str, "boolean": bool}[kind])


def _check_types(ctx: PassContext, route: Route) -> None:
    for where, type_name in (("/request", route.request), ("/response/type", route.response.type)):
        if type_name is not None and type_name not in ctx.types and type_name not in BUILTIN_TYPES:
            ctx.report(
                codes.UNKNOWN_TYPE,
                f"unknown type {type_name!r}",
                route.origin + where,
                hint=did_you_mean(type_name, ctx.types, what="types"),
            )
    if route.request is not None and route.method in ("GET", "DELETE"):
        ctx.report(
            codes.INVALID_CONFIG,
            f"a {route.method} route cannot have a request body",
            route.origin + "/request",
            key=True,
        )
    if route.response.status == 204 and route.response.type is not None:
        ctx.report(
            codes.INVALID_CONFIG,
            "a 204 response has no body, but a type is given",
            route.origin + "/response/status",
        )


def _check_contract_route(
    ctx: PassContext, api: Component, route: Route, endpoints: ServiceEndpoints
) -> None:
    """A contract operation: its path must not be one the service keeps for itself (its own
    endpoints move aside when they can), and a call must reach a collection operation (the
    contract says everything else)."""
    if any(claims(route.path, p) for p in endpoints.paths()):
        ctx.report(
            codes.RESERVED_ROUTE,
            f"path {route.path} is reserved by the generated service",
            route.origin,
        )
    if route.call is None:
        return
    where = (
        f"{ARCHITECTURE}#"
        + join_pointer("/components", api.name, "config", "operations", route.operation_id)
        + "/call"
    )
    target = ctx.components.get(route.call.component)
    if target is None:
        ctx.report(
            codes.UNKNOWN_COMPONENT,
            f"operation {route.operation_id!r} calls unknown component {route.call.component!r}",
            where,
            hint=did_you_mean(route.call.component, ctx.components, what="components"),
        )
        return
    if target.kind != "documents":
        ctx.report(
            codes.UNKNOWN_OPERATION,
            f"{target.name!r} is a {target.kind}; a contract operation calls a `documents` "
            "collection (its schema comes from the contract)",
            where,
        )
        return
    offered = target.config.get("operations", [])
    op = route.call.operation
    if op not in offered:
        ctx.report(
            codes.UNKNOWN_OPERATION,
            f"collection {target.name!r} does not offer {op!r}",
            where,
            hint=did_you_mean(op, offered, what="operations"),
        )
    elif op in ("get", "replace", "patch", "delete") and not route.path_params:
        ctx.report(
            codes.PATH_PARAMETER,
            f"{target.name}.{op} needs the key in the path; {route.path} has no parameter",
            where,
        )


def _check_call(ctx: PassContext, route: Route) -> None:
    if route.call is None:
        return
    where = route.origin + "/call"
    target = ctx.components.get(route.call.component)
    if target is None:
        ctx.report(
            codes.UNKNOWN_COMPONENT,
            f"route {route.operation_id!r} calls unknown component {route.call.component!r}",
            where,
            hint=did_you_mean(route.call.component, ctx.components, what="components"),
        )
        return
    spec = registry().get(target.kind)
    if spec is None or not spec.call_target:
        ctx.report(
            codes.UNKNOWN_OPERATION,
            f"{target.name!r} is a {target.kind}; only stores "
            "can be called in blueprint language v1",
            where,
        )
        return
    operations = target.config.get("operations", [])
    op = route.call.operation
    if op not in operations:
        ctx.report(
            codes.UNKNOWN_OPERATION,
            f"store {target.name!r} does not offer {op!r}",
            where,
            hint=did_you_mean(op, operations, what="operations"),
        )
        return
    if op in KEYED_OPERATIONS and len(route.path_params) != 1:
        ctx.report(
            codes.PATH_PARAMETER,
            f"a call to {target.name}.{op} needs exactly one path "
            f"parameter holding the key; {route.path} has {len(route.path_params)}",
            route.origin + "/path",
            hint=f"for example {route.path.rstrip('/')}/{{id}}" if not route.path_params else None,
        )
    entity = target.config.get("entity", "")
    if op in ("create", "update") and entity in ctx.types:
        if route.request is None:
            ctx.report(
                codes.INVALID_CONFIG,
                f"a call to {target.name}.{op} needs a request body type",
                route.origin,
                key=True,
                hint=f"add `request: TYPE`, a type with the client-writable fields of {entity}",
            )
        elif route.request in ctx.types:
            _check_writable(ctx, route, route.request, entity, op)
    if route.response.type is not None and route.response.type in ctx.types and op != "delete":
        reason = incompatibility(entity, route.response.type, ctx.types)
        if reason:
            ctx.report(
                codes.INCOMPATIBLE_BINDING,
                f"the store returns {entity}, which cannot be "
                f"sent as {route.response.type}: {reason}",
                route.origin + "/response/type",
            )
    if route.response.many and op != "list":
        ctx.report(
            codes.INVALID_CONFIG,
            f"a {op} call returns one {entity}, not a page; remove `many: true`",
            route.origin + "/response/many",
        )
    if route.emit is not None and op == "delete":
        ctx.report(
            codes.INVALID_CONFIG,
            "a delete call returns nothing to emit",
            route.origin + "/emit",
            hint="emit from the route that changes the data, or use a custom handler",
        )
    if op == "list" and not route.response.many and route.response.type is not None:
        ctx.report(
            codes.INVALID_CONFIG,
            "a list call returns a page; set `response: {many: true}`",
            route.origin + "/response",
        )


def _check_writable(ctx: PassContext, route: Route, request: str, entity: str, op: str) -> None:
    """Every required, client-writable entity field must come from the request (create)."""
    entity_fields = object_fields(ctx, entity) or {}
    request_fields = object_fields(ctx, request) or {}
    for name in request_fields:
        if name not in entity_fields:
            ctx.report(
                codes.UNKNOWN_FIELD,
                f"request field {name!r} of {request} is not a field of the stored {entity}",
                route.origin + "/request",
                hint=did_you_mean(name, entity_fields, what="fields"),
            )
            continue
        reason = field_incompatibility(request_fields[name], entity_fields[name], ctx.types)
        if reason:
            ctx.report(
                codes.INCOMPATIBLE_BINDING,
                f"request field {name!r} of {request} cannot be stored in {entity}.{name}: "
                f"{reason}",
                route.origin + "/request",
            )
    if op != "create":
        return
    if route.call is None:
        return
    store = ctx.components[route.call.component]
    exempt = write_exempt_fields(
        entity, store.config["key"], store.config["key_strategy"], ctx.types
    )
    request_required = set(ctx.types[request].schema_.get("required", []))
    for name in ctx.types[entity].schema_.get("required", []):
        if name in exempt:
            continue
        if name not in request_fields:
            ctx.report(
                codes.INVALID_CONFIG,
                f"a new {entity} needs {name!r}, which {request} does not have",
                route.origin + "/request",
                hint=f"add {name!r} to {request}, or mark it readOnly/default in {entity}",
            )
        elif name not in request_required and "default" not in request_fields[name]:
            ctx.report(
                codes.INVALID_CONFIG,
                f"a new {entity} needs {name!r}, but it is optional in {request}",
                route.origin + "/request",
                hint=f"list {name!r} under `required` of {request}, or give it a default",
            )


def _check_emit(ctx: PassContext, api: Component, route: Route) -> None:
    if route.emit is None:
        return
    port = api.port(route.emit)
    if port is None or port not in api.outputs:
        ctx.report(
            codes.UNKNOWN_PORT,
            f"route {route.operation_id!r} emits on {route.emit!r}, "
            f"which is not an output port of {api.name!r}",
            route.origin + "/emit",
            hint=did_you_mean(route.emit, [p.name for p in api.outputs], what="outputs"),
        )
        return
    carried = route.request  # without a call the request body is emitted ...
    if route.call is not None and route.call.component in ctx.components:
        carried = ctx.components[route.call.component].config.get("entity")  # ... else the result
    if carried is not None and carried in ctx.types:
        reason = incompatibility(carried, port.type, ctx.types)
        if reason:
            ctx.report(
                codes.INCOMPATIBLE_BINDING,
                f"route {route.operation_id!r} emits {carried} "
                f"on port {port.name!r} of type {port.type}: {reason}",
                route.origin + "/emit",
            )
