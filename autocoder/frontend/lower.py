"""Lowering: schema-valid blueprint data -> IR models.

Lowering restructures and applies documented defaults; it does not judge. Unknown references
stay as names for the semantic passes to report. The one thing resolved here is deployment
``extends`` (merging needs it), so its errors (unknown parent, cycles) are reported here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from autocoder import __version__
from autocoder.diagnostics import DiagnosticSink, codes
from autocoder.diagnostics.suggest import did_you_mean
from autocoder.frontend.loader import join_pointer
from autocoder.frontend.schema_check import check_definition
from autocoder.ir import models as m
from autocoder.ir.units import duration_ms
from autocoder.kinds import STORAGE_KINDS, registry

if TYPE_CHECKING:
    from autocoder.frontend.openapi.document import Contract

PATH_PARAM = re.compile(r"\{([^{}]*)\}")
ARCHITECTURE = "architecture.yaml"
DEPLOYMENT = "deployment.yaml"


def default_deployment(architecture: dict[str, Any]) -> dict[str, Any]:
    """The deployment used when none is given: one `dev` environment, embedded SQLite."""
    system = architecture["system"]
    return {
        "schema_version": 1,
        "system": system["name"],
        "environments": {
            "dev": {
                "description": "Local development: one replica, embedded SQLite.",
                "replicas": 1,
            }
        },
    }


def _origin(file: str, *tokens: str | int) -> str:
    return file + "#" + join_pointer("", *tokens)


def lower(
    architecture: dict[str, Any],
    deployment: dict[str, Any],
    *,
    deployment_generated: bool,
    sink: DiagnosticSink,
    deployment_file: str,
    contracts: Mapping[str, Contract] | None = None,
    architecture_file: str = ARCHITECTURE,
) -> m.IR:
    """``contracts``: the checked OpenAPI documents api components name, by the path written
    in ``contract``."""
    contracts = contracts or {}
    security = m.Security(**architecture.get("policy", {}).get("security", {}))
    entities = {
        name: str(raw.get("config", {}).get("entity"))
        for name, raw in architecture["components"].items()
        if raw.get("kind") == "store" and isinstance(raw.get("config"), dict)
    }
    components = [
        _component(name, raw, security, entities, contracts, sink, architecture_file)
        for name, raw in sorted(architecture["components"].items())
    ]
    ir = m.IR(
        autocoder_version=__version__,
        system=m.SystemInfo(**architecture["system"]),
        sources=[
            m.SourceFile(role="architecture", name=ARCHITECTURE),
            m.SourceFile(role="deployment", name=DEPLOYMENT, generated=deployment_generated),
            *(m.SourceFile(role="contract", name=name) for name in sorted(contracts)),
        ],
        types=[
            m.TypeDef(
                id=f"type:{name}",
                name=name,
                origin=_origin(ARCHITECTURE, "types", name),
                description=raw.get("description", ""),
                schema_=raw,
            )
            for name, raw in sorted(architecture.get("types", {}).items())
        ],
        components=components,
        bindings=_bindings(architecture.get("bindings", [])),
        calls=_calls(components),
        policy=_policy(architecture.get("policy", {})),
        environments=_environments(architecture, deployment, sink, deployment_file),
    )
    return ir


# -- components --------------------------------------------------------------------------------
def _ports(component: str, raw: dict[str, Any], direction: m.Direction) -> list[m.Port]:
    key = "inputs" if direction is m.Direction.IN else "outputs"
    return [
        m.Port(
            id=f"port:{component}.{name}",
            name=name,
            component=component,
            direction=direction,
            type=spec["type"],
            port_class=m.PortClass(spec.get("class", "data")),
            required=spec.get("required", direction is m.Direction.IN),
            description=spec.get("description", ""),
            origin=_origin(ARCHITECTURE, "components", component, key, name),
        )
        for name, spec in sorted(raw.get(key, {}).items())
    ]


def _component(
    name: str,
    raw: dict[str, Any],
    security: m.Security,
    entities: dict[str, str],
    contracts: Mapping[str, Contract],
    sink: DiagnosticSink,
    architecture_file: str,
) -> m.Component:
    kind = registry().get(raw["kind"])
    config = {**(kind.defaults if kind else {}), **raw.get("config", {})}
    routes: list[m.Route] = []
    contract_document = None
    if raw["kind"] == "api" and "contract" in config:
        from autocoder.frontend.openapi.lower import contract_routes

        contract = contracts.get(str(config["contract"]))
        if contract is not None:  # else the compiler reported why it could not be read
            routes = contract_routes(name, config, contract, sink, architecture_file)
            contract_document = m.ContractDocument(
                file=contract.name,
                version=contract.version,
                document=contract.data,
                text=json.dumps(contract.data, ensure_ascii=False, separators=(",", ":")),
            )
    elif raw["kind"] == "api":
        base = config.get("base_path", "")
        routes = [
            _route(name, i, r, base, security, entities)
            for i, r in enumerate(config.pop("routes", []))
        ]
    return m.Component(
        id=f"component:{name}",
        name=name,
        kind=raw["kind"],
        origin=_origin(ARCHITECTURE, "components", name),
        description=raw.get("description", ""),
        inputs=_ports(name, raw, m.Direction.IN),
        outputs=_ports(name, raw, m.Direction.OUT),
        config=config,
        routes=routes,
        contract=contract_document,
        capabilities=_capabilities(raw.get("capabilities", {})),
        logic=m.Logic(**raw.get("logic", {})),
    )


def _route(
    api: str,
    index: int,
    raw: dict[str, Any],
    base: str,
    security: m.Security,
    entities: dict[str, str],
) -> m.Route:
    call = None
    if "call" in raw:
        target, operation = raw["call"].split(".", 1)
        call = m.CallRef(component=target, operation=operation)
    response_raw = raw.get("response", {})
    response_type = response_raw.get("type")
    many = response_raw.get("many", False)
    if call is not None and "type" not in response_raw and call.operation != "delete":
        # A store call answers with its entity (a page of them for list) unless told otherwise.
        response_type = entities.get(call.component)
        many = many or call.operation == "list"
    status = response_raw.get("status")
    if status is None:
        if raw["method"] == "POST" and call is not None and call.operation == "create":
            status = 201
        elif response_type is None and raw["method"] == "DELETE":
            status = 204
        else:
            status = 200
    path = base + raw["path"]
    return m.Route(
        id=f"route:{api}.{raw['operation_id']}",
        origin=_origin(ARCHITECTURE, "components", api, "config", "routes", index),
        operation_id=raw["operation_id"],
        method=raw["method"],
        path=path,
        path_params=PATH_PARAM.findall(path),
        summary=raw.get("summary", ""),
        description=raw.get("description", ""),
        tags=raw.get("tags", []),
        deprecated=raw.get("deprecated", False),
        request=raw.get("request"),
        response=m.Response(
            type=response_type,
            status=status,
            many=many,
            description=response_raw.get("description", ""),
        ),
        query=[m.QueryParam(name=n, **q) for n, q in sorted(raw.get("query", {}).items())],
        call=call,
        emit=raw.get("emit"),
        auth=raw.get("auth", security.auth != "none"),
    )


def _backoff(raw: dict[str, Any]) -> m.Backoff:
    values: dict[str, Any] = {}
    if "initial" in raw:
        values["initial_ms"] = duration_ms(raw["initial"])
    if "max" in raw:
        values["max_ms"] = duration_ms(raw["max"])
    for key in ("multiplier", "jitter"):
        if key in raw:
            values[key] = raw[key]
    return m.Backoff(**values)


def _capabilities(raw: dict[str, Any]) -> m.Capabilities:
    retry = breaker = limit = None
    if "retry" in raw:
        retry = m.Retry(
            attempts=raw["retry"]["attempts"], backoff=_backoff(raw["retry"].get("backoff", {}))
        )
    if "circuit_breaker" in raw:
        cb = raw["circuit_breaker"]
        breaker = m.CircuitBreaker(
            failure_threshold=cb["failure_threshold"], reset_after_ms=duration_ms(cb["reset_after"])
        )
    if "rate_limit" in raw:
        rl = raw["rate_limit"]
        limit = m.RateLimit(
            rate=rl["rate"],
            per_ms=duration_ms(rl.get("per", "1s")),
            burst=rl.get("burst", rl["rate"]),
        )
    return m.Capabilities(
        validate_=raw.get("validate", True),
        timeout_ms=duration_ms(raw["timeout"]) if "timeout" in raw else None,
        retry=retry,
        circuit_breaker=breaker,
        rate_limit=limit,
        metrics=raw.get("metrics", True),
    )


def _endpoint(text: str) -> m.Endpoint:
    component, port = text.split(".", 1)
    return m.Endpoint(component=component, port=port)


def _bindings(raw: list[dict[str, Any]]) -> list[m.Binding]:
    out = []
    for index, b in enumerate(raw):
        targets = b["to"] if isinstance(b["to"], list) else [b["to"]]
        out.append(
            m.Binding(
                id=f"binding:{b['from']}->{','.join(targets)}",
                origin=_origin(ARCHITECTURE, "bindings", index),
                source=_endpoint(b["from"]),
                targets=[_endpoint(t) for t in targets],
                qos=m.Qos(**b.get("qos", {})),
                description=b.get("description", ""),
            )
        )
    # Sorted by id for a declaration-order-independent IR; duplicates keep their order.
    return sorted(out, key=lambda b: b.id)


def _calls(components: list[m.Component]) -> list[m.Call]:
    calls = []
    for c in components:
        for route in c.routes:
            if route.call is not None:
                calls.append(
                    m.Call(
                        id=f"call:{c.name}.{route.operation_id}",
                        origin=route.origin + "/call",
                        caller=c.name,
                        target=route.call,
                    )
                )
        store = c.config.get("store") if c.kind == "sink" else None
        if isinstance(store, dict):
            calls.append(
                m.Call(
                    id=f"call:{c.name}.store",
                    origin=c.origin + "/config/store/component",
                    caller=c.name,
                    target=m.CallRef(
                        component=store["component"], operation=store.get("operation", "create")
                    ),
                )
            )
    return sorted(calls, key=lambda c: c.id)


def _policy(raw: dict[str, Any]) -> m.Policy:
    return m.Policy(
        security=m.Security(**raw.get("security", {})),
        slos=[
            m.Slo(origin=_origin(ARCHITECTURE, "policy", "slos", i), **s)
            for i, s in enumerate(raw.get("slos", []))
        ],
        resources=m.ResourceCeilings(**raw.get("resources", {})),
        forbidden_dependencies=raw.get("forbidden_dependencies", []),
        suppressions=[
            m.SuppressionRecord(origin=_origin(ARCHITECTURE, "policy", "suppressions", i), **s)
            for i, s in enumerate(raw.get("suppressions", []))
        ],
    )


# -- environments ------------------------------------------------------------------------------
def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve_chain(
    name: str, envs: dict[str, Any], sink: DiagnosticSink, file: str
) -> list[str] | None:
    chain = [name]
    while "extends" in envs[chain[-1]]:
        parent = envs[chain[-1]]["extends"]
        pointer = join_pointer("", "environments", chain[-1], "extends")
        if parent not in envs:
            if len(chain) == 1:  # report it once, for the environment that writes it
                others = sorted(set(envs) - {chain[-1]})
                sink.report(
                    codes.UNKNOWN_DEPLOYMENT_REF,
                    f"environment {chain[-1]!r} extends unknown environment {parent!r}",
                    file=file,
                    pointer=pointer,
                    hint=did_you_mean(parent, others, what="environments"),
                )
            return None
        if parent in chain:
            if chain[0] == min(chain):  # report each cycle once
                sink.report(
                    codes.EXTENDS_CYCLE,
                    "environments extend each other in a cycle: " + " -> ".join([*chain, parent]),
                    file=file,
                    pointer=pointer,
                )
            return None
        chain.append(parent)
    return chain


def _environments(
    architecture: dict[str, Any], deployment: dict[str, Any], sink: DiagnosticSink, file: str
) -> list[m.Environment]:
    system = architecture["system"]
    envs = deployment["environments"]
    stores = sorted(n for n, c in architecture["components"].items() if c["kind"] in STORAGE_KINDS)
    out = []
    for name in sorted(envs):
        chain = _resolve_chain(name, envs, sink, file)
        if chain is None:
            continue
        merged: dict[str, Any] = {}
        for link in reversed(chain):
            merged = _merge(merged, {k: v for k, v in envs[link].items() if k != "extends"})
        if len(chain) > 1 and not check_definition(
            merged,
            "deployment.schema.json",
            "environment",
            file,
            join_pointer("", "environments", name),
            sink,
        ):
            continue  # inherited settings plus this environment's are incomplete
        image = {
            "repository": system["name"].lower().replace("_", "-"),
            "tag": system["version"],
            **merged.get("image", {}),
        }
        databases = [
            m.Database(store=s, **d) for s, d in sorted(merged.get("databases", {}).items())
        ]
        listed = {d.store for d in databases}
        databases += [
            m.Database(store=s, engine="sqlite", path=f"data/{s}.db")
            for s in stores
            if s not in listed
        ]
        out.append(
            m.Environment(
                id=f"env:{name}",
                name=name,
                origin=_origin(DEPLOYMENT, "environments", name),
                description=merged.get("description", ""),
                extends=chain[1:],
                image=m.Image(**image),
                replicas=merged.get("replicas", 1),
                port=merged.get("port", 8000),
                resources=m.Resources(**merged.get("resources", {})),
                autoscaling=m.Autoscaling(**merged["autoscaling"])
                if "autoscaling" in merged
                else None,
                ingress=m.Ingress(**merged["ingress"]) if "ingress" in merged else None,
                databases=sorted(databases, key=lambda d: d.store),
                broker=m.Broker(**merged["broker"]) if "broker" in merged else None,
                secrets=[
                    m.EnvSecret(env=k, ref=m.SecretRef(**v))
                    for k, v in sorted(merged.get("secrets", {}).items())
                ],
                env={k: _env_value(v) for k, v in sorted(merged.get("env", {}).items())},
                overrides=[
                    m.Override(component=c, **o)
                    for c, o in sorted(merged.get("overrides", {}).items())
                ],
                log_level=merged.get("log_level", "info"),
                service_monitor=merged.get("service_monitor", False),
            )
        )
    return out


def _env_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
