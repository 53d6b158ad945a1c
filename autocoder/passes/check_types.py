"""Types: every named reference inside a type resolves, and each schema is self-consistent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from autocoder.diagnostics import codes
from autocoder.diagnostics.suggest import did_you_mean
from autocoder.ir.typesys import BUILTIN_TYPES
from autocoder.passes.context import PassContext

# Keywords that constrain one JSON type only; on another type they would silently do nothing.
APPLIES_TO: dict[str, tuple[str, ...]] = {
    "pattern": ("string",),
    "minLength": ("string",),
    "maxLength": ("string",),
    "minimum": ("integer", "number"),
    "maximum": ("integer", "number"),
    "exclusiveMinimum": ("integer", "number"),
    "exclusiveMaximum": ("integer", "number"),
    "multipleOf": ("integer", "number"),
    "minItems": ("array",),
    "maxItems": ("array",),
    "uniqueItems": ("array",),
    "required": ("object",),
    "additionalProperties": ("object",),
}


def walk_fields(schema: dict[str, Any], pointer: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every sub-schema of a type (itself, properties, items), with its JSON pointer."""
    yield schema, pointer
    for name, sub in schema.get("properties", {}).items():
        yield from walk_fields(sub, f"{pointer}/properties/{name}")
    if isinstance(schema.get("items"), dict):
        yield from walk_fields(schema["items"], f"{pointer}/items")


def check_types(ctx: PassContext) -> None:
    cyclic = _check_alias_cycles(ctx)
    for type_ in ctx.ir.types:
        if type_.name in cyclic:
            continue
        for schema, origin in walk_fields(type_.schema_, type_.origin):
            _check_field(ctx, schema, origin)


def json_type(ctx: PassContext, schema: dict[str, Any]) -> str | None:
    """The JSON type a schema ends up as, following named types; None if it never resolves."""
    seen: set[str] = set()
    while True:
        kind = schema.get("type")
        if kind is None:
            return "object" if "properties" in schema else "any"
        if kind in BUILTIN_TYPES:
            return str(kind)
        if kind not in ctx.types or kind in seen:
            return None
        seen.add(kind)
        schema = ctx.types[kind].schema_


def _check_alias_cycles(ctx: PassContext) -> set[str]:
    """Types that only name each other (A: {type: B}, B: {type: A}) never become a JSON type."""
    cyclic: set[str] = set()
    for type_ in ctx.ir.types:
        chain = [type_.name]
        kind = type_.schema_.get("type")
        while kind in ctx.types and kind not in BUILTIN_TYPES and kind not in chain:
            chain.append(kind)
            kind = ctx.types[kind].schema_.get("type")
        if kind == type_.name:
            cyclic.add(type_.name)
            if type_.name == min(chain):  # report each cycle once
                ctx.report(
                    codes.UNKNOWN_TYPE,
                    f"type {type_.name!r} never resolves to a JSON type: "
                    f"{' -> '.join([*chain, type_.name])}",
                    type_.origin + "/type",
                    hint="one type of the cycle must declare a JSON type or properties",
                )
    return cyclic


def _check_field(ctx: PassContext, schema: dict[str, Any], origin: str) -> None:
    kind = schema.get("type")
    if kind is not None and kind not in BUILTIN_TYPES and kind not in ctx.types:
        ctx.report(
            codes.UNKNOWN_TYPE,
            f"unknown type {kind!r}",
            origin + "/type",
            hint=did_you_mean(kind, [*ctx.types, *BUILTIN_TYPES], what="types"),
        )
        return
    props = schema.get("properties", {})
    for index, name in enumerate(schema.get("required", [])):
        if name not in props:
            ctx.report(
                codes.UNKNOWN_FIELD,
                f"required field {name!r} is not among the properties",
                f"{origin}/required/{index}",
                hint=did_you_mean(name, props, what="fields"),
            )
    if props and kind not in (None, "object"):
        ctx.report(
            codes.SCHEMA_VIOLATION,
            f"'properties' only applies to objects, not {kind}",
            origin + "/properties",
            key=True,
        )
    if "items" in schema and kind != "array":
        ctx.report(
            codes.SCHEMA_VIOLATION, "'items' only applies to arrays", origin + "/items", key=True
        )
    if kind == "array" and "items" not in schema:
        ctx.report(codes.MISSING_KEY, "an array field needs 'items'", origin, key=True)
    base = json_type(ctx, schema)
    for keyword, bases in APPLIES_TO.items():
        if keyword in schema and base is not None and base != "any" and base not in bases:
            ctx.report(
                codes.SCHEMA_VIOLATION,
                f"'{keyword}' only applies to {' and '.join(bases)} values, not {base}",
                f"{origin}/{keyword}",
                key=True,
            )
    if "pattern" in schema:
        try:
            re.compile(schema["pattern"])
        except re.error as exc:
            ctx.report(
                codes.INVALID_VALUE,
                f"pattern is not a valid regular expression: {exc}",
                origin + "/pattern",
            )
    for low, high in (("minimum", "maximum"), ("minLength", "maxLength"), ("minItems", "maxItems")):
        if low in schema and high in schema and schema[low] > schema[high]:
            ctx.report(
                codes.INVALID_VALUE,
                f"{low} {schema[low]} is greater than {high} {schema[high]}",
                origin + "/" + low,
            )
    _check_values(ctx, schema, base, origin)


def _check_values(ctx: PassContext, schema: dict[str, Any], base: str | None, origin: str) -> None:
    """``enum``, ``const`` and ``default`` values must be of the field's type (and allowed)."""
    for index, value in enumerate(schema.get("enum", [])):
        if not _is_json_type(value, base):
            ctx.report(
                codes.INVALID_VALUE,
                f"enum value {value!r} is not {_a(base)}",
                f"{origin}/enum/{index}",
            )
    for keyword in ("const", "default"):
        if keyword not in schema:
            continue
        value = schema[keyword]
        if value is None and schema.get("nullable"):
            continue
        if not _is_json_type(value, base):
            ctx.report(
                codes.INVALID_VALUE,
                f"{keyword} {value!r} is not {_a(base)}",
                f"{origin}/{keyword}",
            )
    if "enum" in schema and "default" in schema and schema["default"] not in schema["enum"]:
        ctx.report(
            codes.INVALID_VALUE,
            f"default {schema['default']!r} is not one of the enum values",
            origin + "/default",
        )


def _is_json_type(value: Any, base: str | None) -> bool:
    if base in (None, "any"):
        return True
    if base == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if base == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    expected = {"string": str, "boolean": bool, "array": list, "object": dict}[base]
    return isinstance(value, expected)


def _a(base: str | None) -> str:
    return f"an {base}" if base in ("integer", "array", "object") else f"a {base}"
