"""What changed between two compiled systems, classified for the people who depend on them.

``compare(base, head)`` walks two IRs and returns ``Change``s, each from a registered ``Rule``
with a stable id and a class: ``breaking`` (clients or data break), ``potentially-breaking``
(some clients may), or ``compatible``. Rules cover the API (routes, operation ids, request and
response fields, enums, authentication) and the data (stores, their entities and keys).
``compile --revise`` refuses breaking changes with it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from autocoder.ir.models import IR, Component, Route, TypeDef

Level = Literal["breaking", "potentially-breaking", "compatible"]
LEVELS: tuple[Level, ...] = ("breaking", "potentially-breaking", "compatible")


@dataclass(frozen=True)
class Rule:
    id: str
    level: Level
    summary: str


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


def _rule(id: str, level: Level, summary: str) -> Rule:
    RULES[id] = Rule(id, level, summary)
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
    "api-response-field-removed", "breaking", "A response field was removed or made optional."
)
FIELD_RETYPED = _rule("type-field-retyped", "breaking", "A field's type changed.")
ENUM_VALUE_REMOVED = _rule("type-enum-value-removed", "breaking", "An enum value was removed.")
AUTH_TIGHTENED = _rule(
    "api-auth-tightened", "breaking", "A route needs authentication now, or another scheme."
)
STORE_REMOVED = _rule("data-store-removed", "breaking", "A store (and its table) was removed.")
STORE_FIELD_REMOVED = _rule(
    "data-store-field-removed", "breaking", "A stored field was removed (data is lost)."
)
STORE_KEY_CHANGED = _rule("data-store-key-changed", "breaking", "A store's key changed.")
FIELD_ADDED = _rule("type-field-added", "compatible", "An optional field was added.")


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
    """Every change from ``base`` to ``head``, in a stable order."""
    return sorted(_changes(base, head), key=lambda c: (LEVELS.index(c.rule.level), c.message))


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
        if new.operation_id != old.operation_id:
            yield Change(
                OPERATION_ID_CHANGED,
                f"{label}: operationId {old.operation_id} became {new.operation_id}",
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
        if old.request and new.request:
            old_t, new_t = base_types.get(old.request), head_types.get(new.request)
            for name in sorted(_required(new_t) - _required(old_t)):
                yield Change(
                    REQUEST_FIELD_REQUIRED,
                    f"{label}: request field {name!r} is required now",
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
        old_props, new_props = _props(old), _props(new)
        for field, schema in old_props.items():
            if field not in new_props:
                continue
            before, after = _field_type(schema), _field_type(new_props[field])
            if before != after:
                yield Change(
                    FIELD_RETYPED,
                    f"type {name}: field {field!r} changed from {before} to {after}",
                    old.origin,
                    new.origin,
                )
            for value in _enum_removed(schema, new_props[field]):
                yield Change(
                    ENUM_VALUE_REMOVED,
                    f"type {name}: field {field!r} no longer allows {value!r}",
                    old.origin,
                    new.origin,
                )
        for field in sorted(set(new_props) - set(old_props) - _required(new)):
            yield Change(
                FIELD_ADDED,
                f"type {name}: optional field {field!r} was added",
                old.origin,
                new.origin,
            )


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
        for field in sorted(set(_props(old_entity)) - set(_props(new_entity))):
            yield Change(
                STORE_FIELD_REMOVED,
                f"store {name!r}: field {field!r} of its entity was removed",
                old.origin,
                new.origin,
            )


def breaking(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.rule.level == "breaking"]
