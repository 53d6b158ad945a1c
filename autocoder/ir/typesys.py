"""Structural type compatibility between blueprint types (used by binding and route checks)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from autocoder.ir.models import TypeDef

BUILTIN_TYPES = frozenset({"string", "integer", "number", "boolean", "object", "array", "any"})
PORT_BUILTINS = BUILTIN_TYPES - {"array"}


def _resolve(
    schema: Mapping[str, Any], types: Mapping[str, TypeDef], seen: int = 0
) -> Mapping[str, Any]:
    """Follow named references until a schema with a JSON type is reached."""
    while schema.get("type") not in BUILTIN_TYPES and schema.get("type") in types and seen < 32:
        schema = types[schema["type"]].schema_
        seen += 1
    return schema


def _base(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if kind is None:
        return "object" if "properties" in schema else "any"
    # An unknown type name is reported by the type passes; do not cascade errors from it.
    return str(kind) if kind in BUILTIN_TYPES else "any"


def incompatibility(
    src: str, dst: str, types: Mapping[str, TypeDef], *, exempt: frozenset[str] = frozenset()
) -> str | None:
    """Why a value of type ``src`` cannot be used where ``dst`` is expected, or None if it can.

    ``exempt`` names top-level fields of ``dst`` that need not come from ``src`` (fields the
    receiver fills itself, such as a store's generated key).
    """
    return _schema_incompat({"type": src}, {"type": dst}, types, set(), exempt=exempt)


def field_incompatibility(
    src: Mapping[str, Any], dst: Mapping[str, Any], types: Mapping[str, TypeDef]
) -> str | None:
    """Like :func:`incompatibility`, for two field schemas (``{type: string, enum: [...]}``)."""
    return _schema_incompat(src, dst, types, set())


def write_exempt_fields(
    entity: str, key: str, key_strategy: str, types: Mapping[str, TypeDef]
) -> frozenset[str]:
    """Fields of a stored entity a writer need not send: readOnly, defaulted, generated key."""
    schema = _resolve({"type": entity}, types)
    exempt = {
        name
        for name, spec in schema.get("properties", {}).items()
        if spec.get("readOnly") or "default" in spec
    }
    if key_strategy != "provided":
        exempt.add(key)
    return frozenset(exempt)


def _schema_incompat(
    src: Mapping[str, Any],
    dst: Mapping[str, Any],
    types: Mapping[str, TypeDef],
    assumed: set[tuple[str, str]],
    path: str = "",
    exempt: frozenset[str] = frozenset(),
) -> str | None:
    src_name, dst_name = str(src.get("type")), str(dst.get("type"))
    s, d = _resolve(src, types), _resolve(dst, types)
    s_base, d_base = _base(s), _base(d)
    where = f" at field '{path}'" if path else ""
    if d_base == "any":
        return None
    if (src.get("nullable") or s.get("nullable")) and not (
        dst.get("nullable") or d.get("nullable")
    ):
        return f"values may be null in the source but not in the target{where}"
    if s_base == "any" or (src_name == dst_name and src_name in types):
        return None
    # Recursive named types: assume compatible (coinduction). Only named pairs can recur;
    # inline schemas (no name, or a JSON type) must be compared every time they appear.
    if src_name in types or dst_name in types:
        if (src_name, dst_name) in assumed:
            return None
        assumed = assumed | {(src_name, dst_name)}
    if s_base != d_base and not (s_base == "integer" and d_base == "number"):
        return f"{s_base} is not {d_base}{where}"
    s_values, d_values = _allowed_values(s), _allowed_values(d)
    if d_values is not None and s_values is None:
        return f"values are not restricted to {d_values!r}{where}"
    if d_values is not None and s_values is not None:
        accepted = {_value_key(v) for v in d_values}
        extra = [v for v in s_values if _value_key(v) not in accepted]
        if extra:
            return f"enum values {extra!r} are not accepted{where}"
    if d_base == "array":
        return _schema_incompat(s.get("items", {}), d.get("items", {}), types, assumed, path + "[]")
    if d_base != "object" or "properties" not in d:
        return None
    s_props, d_props = s.get("properties", {}), d.get("properties", {})
    s_required = set(s.get("required", []))
    for name in d.get("required", []):
        if name in exempt:
            continue
        field = f"{path}.{name}" if path else name
        if name not in s_props:
            return f"required field '{field}' is missing"
        if name not in s_required and "default" not in s_props[name]:
            return f"field '{field}' is optional in the source but required in the target"
    for name, d_field in d_props.items():
        if name in s_props:
            field = f"{path}.{name}" if path else name
            reason = _schema_incompat(s_props[name], d_field, types, assumed, field)
            if reason:
                return reason
    return None


def _allowed_values(schema: Mapping[str, Any]) -> list[Any] | None:
    """The values a schema restricts to (``const`` is an enum of one), or None."""
    if "const" in schema:
        return [schema["const"]]
    enum = schema.get("enum")
    return list(enum) if isinstance(enum, list) else None


def _value_key(value: Any) -> tuple[str, Any]:
    """JSON equality: 1 == 1.0, but true is not 1 and "1" is not 1."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, str):
        return ("string", value)
    return ("json", json.dumps(value, sort_keys=True))
