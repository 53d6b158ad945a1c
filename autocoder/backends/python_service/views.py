"""View models for the service templates: the IR, resolved into names and code fragments.

Everything a template needs is computed here, in plain Python, so templates only loop and
substitute. Names follow one rule: blueprint names become snake_case identifiers
(``per-device`` -> ``per_device``, ``createTodo`` -> ``create_todo``) and PascalCase classes.
"""

from __future__ import annotations

import hashlib
import keyword
import re
from dataclasses import dataclass, field
from typing import Any

from autocoder.ir.endpoints import ServiceEndpoints, service_endpoints
from autocoder.ir.models import IR, Component, Environment, QueryParam, Route, TypeDef
from autocoder.ir.units import duration_ms
from autocoder.kinds import registry

from .types import _base as base_annotation

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NOT_IDENT = re.compile(r"[^0-9A-Za-z_]+")


def snake(name: str) -> str:
    """``createTodo`` -> ``create_todo``; ``per-device`` -> ``per_device``."""
    text = _NOT_IDENT.sub("_", _CAMEL.sub("_", name)).strip("_").lower() or "x"
    if text[0].isdigit():
        text = "_" + text
    return text + "_" if keyword.iskeyword(text) else text


def pascal(name: str) -> str:
    """``per-device`` -> ``PerDevice``; ``api`` -> ``Api``."""
    return "".join(part[:1].upper() + part[1:] for part in snake(name).split("_") if part)


def seconds(text: str | None) -> float | None:
    return None if text is None else duration_ms(text) / 1000


def resolve(schema: dict[str, Any], types: dict[str, TypeDef]) -> dict[str, Any]:
    """Follow named types (``{type: Priority}``) to the schema that has a JSON type; keep the
    outer field's own keywords (nullable, default, description) on top."""
    outer = dict(schema)
    seen = 0
    while outer.get("type") in types and seen < 32:
        inner = dict(types[str(outer["type"])].schema_)
        outer = {**inner, **{k: v for k, v in outer.items() if k != "type"}}
        if "type" not in outer and "properties" in inner:
            outer["type"] = "object"
        seen += 1
    return outer


# --- stores -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnView:
    name: str
    sa_type: str
    nullable: bool
    primary_key: bool
    unique: bool
    autoincrement: bool


@dataclass(frozen=True)
class IndexView:
    name: str
    columns: list[str]


@dataclass(frozen=True)
class FilterView:
    name: str
    annotation: str


@dataclass(frozen=True)
class StoreView:
    name: str  # the component name
    attr: str  # snake_case
    table: str  # the table name
    entity: str
    key: str
    key_strategy: str
    key_annotation: str
    columns: list[ColumnView]
    indexes: list[IndexView]
    filters: list[FilterView]
    created_fields: list[str]
    updated_fields: list[str]
    defaults: dict[str, Any]
    operations: list[str]
    page_size: int
    max_page_size: int
    timeout: float | None


def _sa_type(schema: dict[str, Any], *, key: bool) -> str:
    kind = schema.get("type", "object" if "properties" in schema else "any")
    fmt = schema.get("format")
    if kind == "string":
        if "enum" in schema:
            return f"sa.String({max(len(str(v)) for v in schema['enum'])})"
        if fmt == "uuid":
            return "sa.Uuid(as_uuid=True)"
        if fmt == "date-time":
            return "sa.DateTime(timezone=True)"
        if fmt == "date":
            return "sa.Date()"
        if fmt == "time":
            return "sa.Time()"
        if "maxLength" in schema:
            return f"sa.String({schema['maxLength']})"
        return "sa.String(255)" if key else "sa.Text()"
    if kind == "integer":
        return 'sa.BigInteger().with_variant(sa.Integer(), "sqlite")'
    if kind == "number":
        return "sa.Double()"
    if kind == "boolean":
        return "sa.Boolean()"
    return "sa.JSON()"


def _timestamp_role(name: str, schema: dict[str, Any]) -> str | None:
    if not schema.get("readOnly") or schema.get("format") != "date-time":
        return None
    return "updated" if name.startswith(("updated", "modified")) else "created"


def store_view(component: Component, ir: IR) -> StoreView:
    types = {t.name: t for t in ir.types}
    config = component.config
    entity = str(config["entity"])
    schema = resolve({"type": entity}, types)
    key, strategy = str(config["key"]), str(config["key_strategy"])
    required = set(schema.get("required", []))
    unique = set(config.get("unique", []))
    columns, created, updated, defaults = [], [], [], {}
    properties: dict[str, Any] = schema.get("properties", {})
    for name, raw in properties.items():
        spec = resolve(raw, types)
        is_key = name == key
        nullable = not is_key and (name not in required or bool(spec.get("nullable")))
        columns.append(
            ColumnView(
                name=name,
                sa_type=_sa_type(spec, key=is_key),
                nullable=nullable and not ("default" in spec and spec["default"] is not None),
                primary_key=is_key,
                unique=name in unique and not is_key,
                autoincrement=is_key and strategy == "autoincrement",
            )
        )
        role = None if is_key else _timestamp_role(name, spec)
        if role == "created":
            created.append(name)
        elif role == "updated":
            updated.append(name)
        if "default" in spec:
            defaults[name] = spec["default"]
    table = snake(component.name)
    indexes = []
    for entry in config.get("indexes", []):
        cols = [entry] if isinstance(entry, str) else list(entry)
        indexes.append(IndexView(f"ix_{table}_{'_'.join(cols)}", cols))
    filters = [
        FilterView(name, _optional(base_annotation(resolve(properties[name], types), types)))
        for name in config.get("filters", [])
        if name in properties
    ]
    key_schema = resolve(properties.get(key, {"type": "string"}), types)
    return StoreView(
        name=component.name,
        attr=snake(component.name),
        table=table,
        entity=entity,
        key=key,
        key_strategy=strategy,
        key_annotation=_plain_annotation(key_schema),
        columns=columns,
        indexes=indexes,
        filters=filters,
        created_fields=created,
        updated_fields=updated,
        defaults=defaults,
        operations=list(config.get("operations", [])),
        page_size=int(config["page_size"]),
        max_page_size=int(config["max_page_size"]),
        timeout=(component.capabilities.timeout_ms or 0) / 1000 or None,
    )


def _plain_annotation(schema: dict[str, Any]) -> str:
    if schema.get("type") == "string" and schema.get("format") == "uuid":
        return "uuid.UUID"
    return {"integer": "int", "number": "float", "boolean": "bool"}.get(
        str(schema.get("type")), "str"
    )


def _optional(text: str) -> str:
    return text if text.endswith("| None") else f"{text} | None"


# --- API routes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamView:
    name: str  # the Python parameter name
    wire: str  # the name on the wire (alias when it differs)
    annotation: str  # with Query(...)/Path(...) metadata
    required: bool = False

    def __post_init__(self) -> None:
        if self.name != self.wire:
            for marker in ("Query(", "Path("):
                aliased = self.annotation.replace(marker, f"{marker}alias={self.wire!r}, ", 1)
                object.__setattr__(self, "annotation", aliased.replace(", )", ")"))


@dataclass(frozen=True)
class RouteView:
    func: str
    method: str
    path: str
    operation_id: str
    summary: str
    description: str
    tags: list[str]
    deprecated: bool
    status: int
    request: str | None
    request_partial: bool  # PATCH: only the fields sent
    response: str | None  # model name (a Page model when many)
    response_item: str | None
    many: bool
    store: str | None  # store attribute called
    operation: str | None
    emit: str | None
    custom: bool
    auth: bool
    path_params: list[ParamView]
    query_params: list[ParamView]
    filter_names: list[str]
    errors: list[int]


@dataclass(frozen=True)
class ApiView:
    name: str
    module: str  # app.api.<module>
    klass: str
    title: str
    description: str
    routes: list[RouteView]
    pages: list[tuple[str, str]]  # (page model, item model)
    custom: bool
    max_body_bytes: int | None
    request_timeout: float | None
    rate_limit: dict[str, float] | None
    emits: list[str]


def _query_annotation(param: QueryParam) -> str:
    base = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}[param.type]
    if param.enum:
        base = "Literal[" + ", ".join(repr(v) for v in param.enum) + "]"
    args = []
    if param.description:
        args.append(f"description={param.description!r}")
    if param.minimum is not None:
        args.append(f"ge={param.minimum!r}")
    if param.maximum is not None:
        args.append(f"le={param.maximum!r}")
    text = f"Annotated[{base}, Query({', '.join(args)})]"
    return text if param.required else f"Annotated[{base} | None, Query({', '.join(args)})]"


def _route_view(route: Route, api: Component, stores: dict[str, StoreView]) -> RouteView:
    store = stores.get(route.call.component) if route.call else None
    operation = route.call.operation if route.call else None
    custom = route.call is None and route.emit is None
    path_params, query_params, filter_names = [], [], []
    for name in route.path_params:
        kind = store.key_annotation if store and name == store.key else "str"
        path_params.append(ParamView(snake(name), name, f"Annotated[{kind}, Path()]"))
    if store and operation == "list":
        for f in store.filters:
            query_params.append(
                ParamView(snake(f.name), f.name, f"Annotated[{f.annotation}, Query()]")
            )
            filter_names.append(f.name)
        query_params.append(
            ParamView(
                "limit",
                "limit",
                f"Annotated[int | None, Query(ge=1, le={store.max_page_size}, "
                f"description='Page size (default {store.page_size}).')]",
            )
        )
        query_params.append(
            ParamView(
                "cursor",
                "cursor",
                "Annotated[str | None, Query(description='`next_cursor` of the previous page.')]",
            )
        )
    taken = {p.wire for p in query_params}
    for q in route.query:
        if q.name not in taken:
            query_params.append(
                ParamView(snake(q.name), q.name, _query_annotation(q), required=q.required)
            )
    response_type = route.response.type
    many = route.response.many
    errors = {401} if route.auth else set()
    if route.request or path_params or query_params:
        errors.add(422)
    if route.request:
        errors.add(413)
    if operation in ("get", "update", "delete"):
        errors.add(404)
    if operation in ("create", "update"):
        errors.add(409)
    if operation == "list":
        errors.add(400)
    if custom:
        errors.add(501)
    return RouteView(
        func=snake(route.operation_id),
        method=route.method.lower(),
        path=route.path,
        operation_id=route.operation_id,
        summary=route.summary,
        description=route.description,
        tags=list(route.tags),
        deprecated=route.deprecated,
        status=route.response.status,
        request=route.request,
        request_partial=route.method == "PATCH",
        response=(f"{response_type}Page" if many else response_type) if response_type else None,
        response_item=response_type,
        many=many,
        store=store.attr if store else None,
        operation=operation,
        emit=route.emit,
        custom=custom,
        auth=route.auth,
        path_params=path_params,
        query_params=query_params,
        filter_names=filter_names,
        errors=sorted(errors),
    )


def api_view(component: Component, ir: IR, stores: dict[str, StoreView]) -> ApiView:
    # Static paths before parameterised ones (`/todos/stats` before `/todos/{id}`): the router
    # matches in order, so the more specific route must come first.
    ordered = sorted(component.routes, key=lambda r: len(r.path_params))
    routes = [_route_view(r, component, stores) for r in ordered]
    pages = sorted({(r.response, r.response_item) for r in routes if r.many and r.response})
    rate = component.capabilities.rate_limit
    return ApiView(
        name=component.name,
        module=snake(component.name),
        klass=pascal(component.name),
        title=str(component.config.get("title") or ir.system.name),
        description=component.description,
        routes=routes,
        pages=[(p, i) for p, i in pages if i is not None],
        custom=any(r.custom for r in routes),
        max_body_bytes=component.config.get("max_body_bytes"),
        request_timeout=seconds(component.config.get("request_timeout")),
        rate_limit=(
            {"rate": rate.rate, "per": rate.per_ms / 1000, "burst": rate.burst} if rate else None
        ),
        emits=sorted({r.emit for r in component.routes if r.emit}),
    )


# --- the dataflow -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PortView:
    name: str
    type: str
    port_class: str


@dataclass(frozen=True)
class FlowComponentView:
    name: str
    attr: str
    klass: str
    kind: str
    custom: bool
    description: str
    inputs: list[PortView]
    outputs: list[PortView]
    error_port: str | None
    capabilities: dict[str, Any]


@dataclass(frozen=True)
class BindingView:
    id: str
    attr: str
    source: tuple[str, str]
    targets: list[tuple[str, str]]
    buffer: int
    fanout: str


@dataclass
class SystemView:
    name: str
    version: str
    description: str
    stores: list[StoreView] = field(default_factory=list)
    apis: list[ApiView] = field(default_factory=list)
    flow: list[FlowComponentView] = field(default_factory=list)
    bindings: list[BindingView] = field(default_factory=list)
    auth: str = "none"
    api_key_header: str = "X-API-Key"
    allowed_origins: list[str] = field(default_factory=list)
    environments: dict[str, Any] = field(default_factory=dict)
    default_environment: str = "dev"
    components: dict[str, dict[str, Any]] = field(default_factory=dict)
    custom: list[FlowComponentView] = field(default_factory=list)
    secret_envs: list[str] = field(default_factory=list)
    documents: list[Any] = field(default_factory=list)  # contract_api.DocumentsView
    contract_apis: list[Any] = field(default_factory=list)  # contract_api.ContractApiView
    endpoints: ServiceEndpoints = field(default_factory=ServiceEndpoints)

    @property
    def migration_lock(self) -> int:
        """A stable PostgreSQL advisory-lock key for this system's migrations."""
        digest = hashlib.sha256(f"autocoder-migrations:{self.name}".encode()).digest()
        return int.from_bytes(digest[:8], "big") & 0x7FFF_FFFF_FFFF_FFFF


def _capabilities(component: Component) -> dict[str, Any]:
    caps = component.capabilities
    out: dict[str, Any] = {"validate": caps.validate_, "metrics": caps.metrics}
    if caps.timeout_ms:
        out["timeout"] = caps.timeout_ms / 1000
    if caps.retry:
        b = caps.retry.backoff
        out["retry"] = {
            "attempts": caps.retry.attempts,
            "initial": b.initial_ms / 1000,
            "max": b.max_ms / 1000,
            "multiplier": b.multiplier,
            "jitter": b.jitter,
        }
    if caps.circuit_breaker:
        cb = caps.circuit_breaker
        out["circuit_breaker"] = {
            "failure_threshold": cb.failure_threshold,
            "reset_after": cb.reset_after_ms / 1000,
        }
    if caps.rate_limit:
        rl = caps.rate_limit
        out["rate_limit"] = {"rate": rl.rate, "per": rl.per_ms / 1000, "burst": rl.burst}
    return out


def _public_config(component: Component) -> dict[str, Any]:
    """The config a service needs at run time (routes are compiled into code instead)."""
    if component.kind != "api":
        return dict(component.config)
    return {k: v for k, v in component.config.items() if k not in ("routes", "operations")}


def _environment(env: Environment, ir: IR) -> dict[str, Any]:
    kinds = registry()
    overrides = {}
    for o in env.overrides:
        component = ir.component(o.component)
        if o.config and component is not None:
            base = _public_config(component)
            overrides[o.component] = kinds[component.kind].apply_override(base, dict(o.config))
    databases = {
        d.store: {"engine": d.engine, "path": d.path, "pool_size": d.pool_size}
        for d in env.databases
    }
    return {
        "log_level": env.log_level,
        "port": env.port,
        "replicas": env.replicas,
        "databases": databases,
        "broker": env.broker.kind if env.broker else None,
        "overrides": overrides,
    }


def system_view(ir: IR) -> SystemView:
    stores = {c.name: store_view(c, ir) for c in ir.components if c.kind == "store"}
    view = SystemView(ir.system.name, ir.system.version, ir.system.description)
    view.stores = list(stores.values())
    view.apis = [
        api_view(c, ir, stores) for c in ir.components if c.kind == "api" and c.contract is None
    ]
    from .contract_api import contract_api_views, documents_views

    view.documents = documents_views(ir)
    view.contract_apis = contract_api_views(ir)
    view.endpoints = service_endpoints(ir)
    for c in ir.components:
        view.components[c.name] = _public_config(c)
        if c.kind in ("api", "store", "documents"):
            continue
        error_port = next((p.name for p in c.outputs if p.port_class == "error"), None)
        flow = FlowComponentView(
            name=c.name,
            attr=snake(c.name),
            klass=pascal(c.name),
            kind=c.kind,
            custom=c.logic.mode == "custom",
            description=c.logic.description or c.description,
            inputs=[PortView(p.name, p.type, p.port_class) for p in c.inputs],
            outputs=[PortView(p.name, p.type, p.port_class) for p in c.outputs],
            error_port=error_port,
            capabilities=_capabilities(c),
        )
        view.flow.append(flow)
        if flow.custom:
            view.custom.append(flow)
    for b in ir.bindings:
        view.bindings.append(
            BindingView(
                id=b.id,
                attr=snake(f"{b.source.component}_{b.source.port}"),
                source=(b.source.component, b.source.port),
                targets=[(t.component, t.port) for t in b.targets],
                buffer=b.qos.buffer,
                fanout=b.qos.fanout,
            )
        )
    sec = ir.policy.security
    view.auth, view.api_key_header = sec.auth, sec.api_key_header
    view.allowed_origins = list(sec.allowed_origins)
    view.environments = {env.name: _environment(env, ir) for env in ir.environments}
    names = [env.name for env in ir.environments]
    view.default_environment = "dev" if "dev" in names else (names[0] if names else "dev")
    view.secret_envs = sorted({s.env for env in ir.environments for s in env.secrets})
    return view
