"""What changed between two compiled systems, classified for the people who depend on them.

``compare(base, head)`` walks two IRs and returns ``Change``s, each from a registered ``Rule``
with a stable id and a class: ``breaking`` (clients or data break), ``potentially-breaking``
(some clients may), or ``compatible``. Rules cover the API (routes, operation ids, parameters,
request and response fields, constraints, enums, authentication), the data (stores, their
entities and keys), the dataflow (ports, binding types, delivery guarantees) and the deployment
(port, environment variables and secret references, replicas in production, resource limits).
``autocoder diff`` reports them; ``compile --revise`` refuses breaking ones.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from autocoder.ir.models import IR, Component, QueryParam, Route, TypeDef
from autocoder.ir.units import cpu_millis, memory_bytes

Level = Literal["breaking", "potentially-breaking", "compatible"]
LEVELS: tuple[Level, ...] = ("breaking", "potentially-breaking", "compatible")


@dataclass(frozen=True)
class Rule:
    id: str
    level: Level
    summary: str
    layer: str = "api"  # api, data, dataflow, deployment


@dataclass(frozen=True)
class Change:
    rule: Rule
    message: str
    base: str | None  # the element's origin (file#pointer) in the base revision
    head: str | None  # ... and in the head revision

    @property
    def fingerprint(self) -> str:
        text = f"{self.rule.id}|{self.base}|{self.head}|{self.message}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


RULES: dict[str, Rule] = {}


LAYERS = {
    "api": "api",
    "type": "api",
    "data": "data",
    "flow": "dataflow",
    "deploy": "deployment",
    "semver": "system",
}


def _rule(id: str, level: Level, summary: str) -> Rule:
    RULES[id] = Rule(id, level, summary, LAYERS[id.split("-")[0]])
    return RULES[id]


ROUTE_REMOVED = _rule("api-route-removed", "breaking", "A route (method and path) was removed.")
ROUTE_ADDED = _rule("api-route-added", "compatible", "A route was added.")
OPERATION_ID_CHANGED = _rule(
    "api-operation-id-changed",
    "potentially-breaking",
    "A route's operationId changed (generated clients name their methods after it).",
)
REQUEST_FIELD_REQUIRED = _rule(
    "api-request-field-required",
    "breaking",
    "A request body field is required now (clients that omit it are refused).",
)
RESPONSE_FIELD_REMOVED = _rule(
    "api-response-field-removed",
    "breaking",
    "A response field (or the whole body) was removed, or a field made optional.",
)
FIELD_RETYPED = _rule("type-field-retyped", "breaking", "A field's type changed.")
ENUM_VALUE_REMOVED = _rule("type-enum-value-removed", "breaking", "An enum value was removed.")
AUTH_TIGHTENED = _rule(
    "api-auth-tightened",
    "breaking",
    "A route needs authentication now, another scheme, or the API key in another header.",
)
STORE_REMOVED = _rule("data-store-removed", "breaking", "A store (and its table) was removed.")
STORE_FIELD_REMOVED = _rule(
    "data-store-field-removed", "breaking", "A stored field was removed (data is lost)."
)
STORE_KEY_CHANGED = _rule("data-store-key-changed", "breaking", "A store's key changed.")
FIELD_ADDED = _rule("type-field-added", "compatible", "An optional field was added.")
QUERY_NARROWED = _rule(
    "api-parameter-narrowed",
    "breaking",
    "A query parameter accepts fewer values: another type, fewer enum values, tighter bounds.",
)
QUERY_REQUIRED = _rule(
    "api-parameter-required",
    "breaking",
    "A query parameter was added as required, or an optional one made required.",
)
CONSTRAINT_NARROWED = _rule(
    "type-constraint-narrowed",
    "breaking",
    "A field accepts fewer values: a tighter length, bound or item count.",
)
STORE_FIELD_RETYPED = _rule(
    "data-store-field-retyped",
    "breaking",
    "A stored field's type changed (the table needs a migration of its data).",
)
PORT_REMOVED = _rule(
    "flow-port-removed", "breaking", "A port of a component was removed (its streams break)."
)
BINDING_RETYPED = _rule(
    "flow-binding-type-changed",
    "potentially-breaking",
    "A bound port's type changed: producers or consumers of the stream must follow.",
)
DELIVERY_WEAKENED = _rule(
    "flow-delivery-weakened",
    "breaking",
    "A binding's delivery guarantee is weaker (messages may now be lost or duplicated).",
)
DEPLOY_PORT = _rule(
    "deploy-port-changed", "breaking", "The port an environment's service listens on changed."
)
DEPLOY_SECRET_REMOVED = _rule(
    "deploy-secret-removed",
    "breaking",
    "A secret reference an environment gave the service was removed.",
)
DEPLOY_ENV_REMOVED = _rule(
    "deploy-env-removed",
    "potentially-breaking",
    "An environment variable an environment set was removed.",
)
DEPLOY_REPLICAS_LOWERED = _rule(
    "deploy-replicas-lowered",
    "potentially-breaking",
    "The replica floor of a production environment was lowered (less redundancy).",
)
PATH_PARAMS_REORDERED = _rule(
    "api-path-parameters-reordered",
    "breaking",
    "A route's path parameters swapped places (clients fill them by position).",
)
PATH_PARAMS_RENAMED = _rule(
    "api-path-parameters-renamed",
    "potentially-breaking",
    "A route's path parameters were renamed (generated clients name their arguments after them).",
)
PATTERN_CHANGED = _rule(
    "type-pattern-changed",
    "potentially-breaking",
    "A field must match a new or different pattern (values accepted before may be refused).",
)
ENVIRONMENT_REMOVED = _rule(
    "deploy-production-removed", "breaking", "A production environment was removed."
)
ENVIRONMENT_DROPPED = _rule(
    "deploy-environment-removed",
    "potentially-breaking",
    "A non-production environment was removed.",
)
SEMVER_NOT_BUMPED = _rule(
    "semver-major-required",
    "breaking",
    "A breaking change needs a new major version of the system (a new minor before 1.0.0).",
)
DEPLOY_LIMITS_CUT = _rule(
    "deploy-limits-cut",
    "potentially-breaking",
    "An environment's CPU or memory limit was lowered (the service may be throttled or killed).",
)


def _routes(ir: IR) -> dict[tuple[str, str], Route]:
    return {
        (r.method, re.sub(r"\{[^}]*\}", "{}", r.path)): r for c in ir.components for r in c.routes
    }


def _types(ir: IR) -> dict[str, TypeDef]:
    return {t.name: t for t in ir.types}


def _props(t: TypeDef | None) -> dict[str, Any]:
    return dict((t.schema_.get("properties") or {}) if t is not None else {})


def _required(t: TypeDef | None) -> set[str]:
    return set((t.schema_.get("required") or []) if t is not None else [])


def _field_type(schema: dict[str, Any]) -> str:
    kind = schema.get("type", "any")
    if kind == "array":
        return f"array of {_field_type(schema.get('items') or {})}"
    return str(kind)


def _enum_removed(base: dict[str, Any], head: dict[str, Any]) -> list[Any]:
    if "enum" not in base or "enum" not in head:
        return []
    return [v for v in base["enum"] if v not in head["enum"]]


def compare(base: IR, head: IR) -> list[Change]:
    """Every change from ``base`` to ``head``, in a stable order; a breaking one without a
    major version bump (minor before 1.0.0) adds ``semver-major-required``."""
    changes = list(_changes(base, head))
    if breaking(changes) and not _bumped(base.system.version, head.system.version):
        changes.append(
            Change(
                SEMVER_NOT_BUMPED,
                f"breaking changes, but system.version went from {base.system.version} to "
                f"{head.system.version}",
                "architecture.yaml#/system/version",
                "architecture.yaml#/system/version",
            )
        )
    return sorted(changes, key=lambda c: (LEVELS.index(c.rule.level), c.rule.id, c.message))


def _version(text: str) -> tuple[int, int]:
    found = re.match(r"(\d+)\.(\d+)", text)
    return (int(found.group(1)), int(found.group(2))) if found else (0, 0)


def _bumped(base: str, head: str) -> bool:
    (major, minor), (new_major, new_minor) = _version(base), _version(head)
    if major == 0:
        return new_major > 0 or new_minor > minor
    return new_major > major


def _changes(base: IR, head: IR) -> Iterator[Change]:
    before, after = _routes(base), _routes(head)
    base_types, head_types = _types(base), _types(head)
    auth_before, auth_after = base.policy.security.auth, head.policy.security.auth
    for key, old in before.items():
        new = after.get(key)
        label = f"{old.method} {old.path}"
        if new is None:
            yield Change(
                ROUTE_REMOVED, f"{label} ({old.operation_id}) was removed", old.origin, None
            )
            continue
        if new.path_params != old.path_params:
            swapped = sorted(new.path_params) == sorted(old.path_params)
            yield Change(
                PATH_PARAMS_REORDERED if swapped else PATH_PARAMS_RENAMED,
                f"{label}: path parameters {old.path_params} became {new.path_params}",
                old.origin,
                new.origin,
            )
        if new.operation_id != old.operation_id:
            yield Change(
                OPERATION_ID_CHANGED,
                f"{label}: operationId {old.operation_id} became {new.operation_id}",
                old.origin,
                new.origin,
            )
        header_before = base.policy.security.api_key_header
        header_after = head.policy.security.api_key_header
        renamed = auth_before == auth_after == "api_key" and header_before != header_after
        if new.auth and old.auth and renamed:
            yield Change(
                AUTH_TIGHTENED,
                f"{label}: the API key goes in {header_after} now (was {header_before})",
                old.origin,
                new.origin,
            )
        if (new.auth and not old.auth) or (new.auth and old.auth and auth_before != auth_after):
            yield Change(
                AUTH_TIGHTENED,
                f"{label} needs {auth_after} authentication now (was "
                f"{auth_before if old.auth else 'none'})",
                old.origin,
                new.origin,
            )
        old_query = {q.name: q for q in old.query}
        for param in new.query:
            was = old_query.get(param.name)
            if param.required and (was is None or not was.required):
                yield Change(
                    QUERY_REQUIRED,
                    f"{label}: query parameter {param.name!r} is required now",
                    old.origin,
                    new.origin,
                )
            if was is not None:
                for what in _query_narrowed(was, param):
                    yield Change(
                        QUERY_NARROWED,
                        f"{label}: query parameter {param.name!r} {what}",
                        old.origin,
                        new.origin,
                    )
        if old.request and new.request:
            old_t, new_t = base_types.get(old.request), head_types.get(new.request)
            for name in sorted(_required(new_t) - _required(old_t)):
                yield Change(
                    REQUEST_FIELD_REQUIRED,
                    f"{label}: request field {name!r} is required now",
                    old.origin,
                    new.origin,
                )
            if old.request != new.request:  # renamed: the pair is not compared by name later
                yield from _field_changes(f"{label}: request", old_t, new_t, old.origin, new.origin)
        if old.response.type and not new.response.type:
            yield Change(
                RESPONSE_FIELD_REMOVED,
                f"{label}: the response body ({old.response.type}) was removed",
                old.origin,
                new.origin,
            )
        if old.response.type and new.response.type:
            old_t, new_t = base_types.get(old.response.type), head_types.get(new.response.type)
            for name in sorted(set(_props(old_t)) - set(_props(new_t))):
                yield Change(
                    RESPONSE_FIELD_REMOVED,
                    f"{label}: response field {name!r} was removed",
                    old.origin,
                    new.origin,
                )
            for name in sorted((_required(old_t) - _required(new_t)) & set(_props(new_t))):
                yield Change(
                    RESPONSE_FIELD_REMOVED,
                    f"{label}: response field {name!r} is optional now (clients may miss it)",
                    old.origin,
                    new.origin,
                )
            if old.response.type != new.response.type:
                yield from _field_changes(
                    f"{label}: response", old_t, new_t, old.origin, new.origin
                )
    for key, new in after.items():
        if key not in before:
            yield Change(
                ROUTE_ADDED,
                f"{new.method} {new.path} ({new.operation_id}) was added",
                None,
                new.origin,
            )
    yield from _type_changes(base_types, head_types)
    yield from _store_changes(base, head)
    yield from _flow_changes(base, head)
    yield from _deploy_changes(base, head)


def _type_changes(base: dict[str, TypeDef], head: dict[str, TypeDef]) -> Iterator[Change]:
    for name, old in base.items():
        new = head.get(name)
        if new is None:
            continue
        for value in _enum_removed(old.schema_, new.schema_):
            yield Change(
                ENUM_VALUE_REMOVED,
                f"type {name}: enum value {value!r} was removed",
                old.origin,
                new.origin,
            )
        yield from _field_changes(f"type {name}", old, new, old.origin, new.origin)
        old_props, new_props = _props(old), _props(new)
        for field in sorted(set(new_props) - set(old_props) - _required(new)):
            yield Change(
                FIELD_ADDED,
                f"type {name}: optional field {field!r} was added",
                old.origin,
                new.origin,
            )


def _field_changes(
    what: str, old: TypeDef | None, new: TypeDef | None, base: str, head: str
) -> Iterator[Change]:
    """Fields both types have whose type, enum or constraints changed for the worse."""
    old_props, new_props = _props(old), _props(new)
    for field, schema in old_props.items():
        if field not in new_props:
            continue
        before, after = _field_type(schema), _field_type(new_props[field])
        if before != after:
            yield Change(
                FIELD_RETYPED,
                f"{what}: field {field!r} changed from {before} to {after}",
                base,
                head,
            )
        for value in _enum_removed(schema, new_props[field]):
            yield Change(
                ENUM_VALUE_REMOVED,
                f"{what}: field {field!r} no longer allows {value!r}",
                base,
                head,
            )
        for narrowed in _narrowed(schema, new_props[field]):
            yield Change(CONSTRAINT_NARROWED, f"{what}: field {field!r} {narrowed}", base, head)
        if new_props[field].get("pattern") and new_props[field].get("pattern") != schema.get(
            "pattern"
        ):
            yield Change(
                PATTERN_CHANGED,
                f"{what}: field {field!r} must match {new_props[field]['pattern']!r} now",
                base,
                head,
            )


def _query_narrowed(old: QueryParam, new: QueryParam) -> Iterator[str]:
    if new.type != old.type and not (old.type == "integer" and new.type == "number"):
        yield f"changed from {old.type} to {new.type}"
    if old.enum is not None and new.enum is not None:
        for value in old.enum:
            if value not in new.enum:
                yield f"no longer allows {value!r}"
    elif old.enum is None and new.enum is not None:
        yield f"allows only {new.enum} now"
    if new.minimum is not None and (old.minimum is None or new.minimum > old.minimum):
        yield f"minimum {_number(old.minimum)} became {_number(new.minimum)}"
    if new.maximum is not None and (old.maximum is None or new.maximum < old.maximum):
        yield f"maximum {_number(old.maximum)} became {_number(new.maximum)}"


def _number(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


# keyword -> True when a larger value accepts fewer values
_BOUNDS = {
    "maxLength": False,
    "maximum": False,
    "exclusiveMaximum": False,
    "maxItems": False,
    "minLength": True,
    "minimum": True,
    "exclusiveMinimum": True,
    "minItems": True,
}


def _narrowed(base: dict[str, Any], head: dict[str, Any]) -> Iterator[str]:
    for keyword, larger_is_tighter in _BOUNDS.items():
        before, after = base.get(keyword), head.get(keyword)
        if after is None or not isinstance(after, int | float):
            continue
        if before is None:
            yield f"gained {keyword} {after}"
        elif (
            isinstance(before, int | float)
            and after != before
            and (after > before) == larger_is_tighter
        ):
            yield f"{keyword} went from {before} to {after}"


def _stores(ir: IR) -> dict[str, Component]:
    return {c.name: c for c in ir.components if c.kind == "store"}


def _store_changes(base: IR, head: IR) -> Iterator[Change]:
    base_types, head_types = _types(base), _types(head)
    after = _stores(head)
    for name, old in _stores(base).items():
        new = after.get(name)
        if new is None:
            yield Change(STORE_REMOVED, f"store {name!r} was removed", old.origin, None)
            continue
        old_key, new_key = old.config.get("key", "id"), new.config.get("key", "id")
        if old_key != new_key:
            yield Change(
                STORE_KEY_CHANGED,
                f"store {name!r}: key {old_key!r} became {new_key!r}",
                old.origin,
                new.origin,
            )
        old_entity = base_types.get(str(old.config.get("entity")))
        new_entity = head_types.get(str(new.config.get("entity")))
        old_fields, new_fields = _props(old_entity), _props(new_entity)
        for field in sorted(set(old_fields) - set(new_fields)):
            yield Change(
                STORE_FIELD_REMOVED,
                f"store {name!r}: field {field!r} of its entity was removed",
                old.origin,
                new.origin,
            )
        for field in sorted(set(old_fields) & set(new_fields)):
            was, now = _field_type(old_fields[field]), _field_type(new_fields[field])
            if was != now:
                yield Change(
                    STORE_FIELD_RETYPED,
                    f"store {name!r}: field {field!r} changed from {was} to {now}",
                    old.origin,
                    new.origin,
                )


_DELIVERY = {"at_most_once": 0, "at_least_once": 1, "exactly_once": 2}


def _flow_changes(base: IR, head: IR) -> Iterator[Change]:
    after = {c.name: c for c in head.components}
    bound = {str(b.source) for b in base.bindings} | {
        str(t) for b in base.bindings for t in b.targets
    }
    for old in base.components:
        new = after.get(old.name)
        if new is None:
            continue
        for port in (*old.inputs, *old.outputs):
            now = new.port(port.name)
            where = f"{old.name}.{port.name}"
            if now is None:
                yield Change(PORT_REMOVED, f"port {where} was removed", port.origin, new.origin)
            elif now.type != port.type and where in bound:
                yield Change(
                    BINDING_RETYPED,
                    f"port {where} carries {now.type} now (was {port.type})",
                    port.origin,
                    now.origin,
                )
    streams = {(str(b.source), str(t)): b for b in head.bindings for t in b.targets}
    for binding in base.bindings:
        for target in binding.targets:
            new_binding = streams.get((str(binding.source), str(target)))
            if new_binding is None:
                continue
            was, is_now = binding.qos.delivery, new_binding.qos.delivery
            if _DELIVERY[is_now] < _DELIVERY[was]:
                yield Change(
                    DELIVERY_WEAKENED,
                    f"binding {binding.source} -> {target}: delivery {was} became {is_now}",
                    binding.origin,
                    new_binding.origin,
                )


PRODUCTION = ("prod", "production")


def _deploy_changes(base: IR, head: IR) -> Iterator[Change]:
    after = {e.name: e for e in head.environments}
    for old in base.environments:
        new = after.get(old.name)
        if new is None:
            production = old.name in PRODUCTION
            yield Change(
                ENVIRONMENT_REMOVED if production else ENVIRONMENT_DROPPED,
                f"environment {old.name!r} was removed",
                old.origin,
                None,
            )
            continue
        label = f"environment {old.name!r}"
        if new.port != old.port:
            yield Change(
                DEPLOY_PORT, f"{label}: port {old.port} became {new.port}", old.origin, new.origin
            )
        secrets = {s.env for s in new.secrets}
        for secret in old.secrets:
            if secret.env not in secrets:
                yield Change(
                    DEPLOY_SECRET_REMOVED,
                    f"{label}: secret reference {secret.env} ({secret.ref.secret}/"
                    f"{secret.ref.key}) was removed",
                    old.origin,
                    new.origin,
                )
        for name in sorted(set(old.env) - set(new.env)):
            yield Change(
                DEPLOY_ENV_REMOVED,
                f"{label}: environment variable {name} was removed",
                old.origin,
                new.origin,
            )
        floor_before = old.autoscaling.min_replicas if old.autoscaling else old.replicas
        floor_after = new.autoscaling.min_replicas if new.autoscaling else new.replicas
        if old.name in PRODUCTION and floor_after < floor_before:
            yield Change(
                DEPLOY_REPLICAS_LOWERED,
                f"{label}: at least {floor_after} replica(s) now (was {floor_before})",
                old.origin,
                new.origin,
            )
        for kind, measure in (("cpu", cpu_millis), ("memory", memory_bytes)):
            before, now = getattr(old.resources.limits, kind), getattr(new.resources.limits, kind)
            if before and now and measure(now) < measure(before):
                yield Change(
                    DEPLOY_LIMITS_CUT,
                    f"{label}: {kind} limit {before} became {now}",
                    old.origin,
                    new.origin,
                )


def breaking(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.rule.level == "breaking"]
