"""Types: every named reference inside a type resolves, and each schema is self-consistent."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from autocoder.diagnostics import codes
from autocoder.ir.typesys import BUILTIN_TYPES
from autocoder.passes._suggest import did_you_mean
from autocoder.passes.context import PassContext


def walk_fields(schema: dict[str, Any], pointer: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every sub-schema of a type (itself, properties, items), with its JSON pointer."""
    yield schema, pointer
    for name, sub in schema.get("properties", {}).items():
        yield from walk_fields(sub, f"{pointer}/properties/{name}")
    if isinstance(schema.get("items"), dict):
        yield from walk_fields(schema["items"], f"{pointer}/items")


def check_types(ctx: PassContext) -> None:
    for type_ in ctx.ir.types:
        for schema, origin in walk_fields(type_.schema_, type_.origin):
            _check_field(ctx, schema, origin)


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
    if "enum" in schema and "default" in schema and schema["default"] not in schema["enum"]:
        ctx.report(
            codes.INVALID_VALUE,
            f"default {schema['default']!r} is not one of the enum values",
            origin + "/default",
        )
