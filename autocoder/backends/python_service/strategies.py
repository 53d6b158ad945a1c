"""Hypothesis strategies of blueprint types, as Python source for the generated tests.

Each object type becomes a function returning ``st.fixed_dictionaries(required, optional=...)``
that draws JSON values valid for the type: bounds, lengths, enums, patterns, formats and
nullability come straight from the blueprint schema.
"""

from __future__ import annotations

from typing import Any

from autocoder.ir.models import TypeDef

from .views import resolve, snake

TEXT = "st.text(alphabet=TEXT_CHARACTERS"


def _string(schema: dict[str, Any]) -> str:
    fmt = schema.get("format")
    if fmt == "uuid":
        return "st.uuids().map(str)"
    if fmt == "date-time":
        return "st.datetimes(timezones=st.just(datetime.UTC)).map(lambda d: d.isoformat())"
    if fmt == "date":
        return "st.dates().map(str)"
    if fmt == "time":
        return "st.times().map(lambda t: t.isoformat())"
    if fmt == "email":
        return "st.emails()"
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if "pattern" in schema:
        text = f"st.from_regex({schema['pattern']!r}, fullmatch=True)"
        if "minLength" in schema or high is not None:
            bound = f"{low} <= len(s)" + (f" <= {high}" if high is not None else "")
            text += f".filter(lambda s: {bound})"
        return text
    size = f", min_size={low}" if low else ""
    return f"{TEXT}{size}, max_size={min(high if high is not None else 40, 40)})"


def _number(schema: dict[str, Any], integer: bool) -> str:
    args = []
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if integer:
        if low is not None:
            args.append(f"min_value={int(low) + (1 if 'exclusiveMinimum' in schema else 0)}")
        if high is not None:
            args.append(f"max_value={int(high) - (1 if 'exclusiveMaximum' in schema else 0)}")
        # blueprint integers are 64-bit (the store's BIGINT, CEL's int)
        if low is None:
            args.append(f"min_value={-(2**63)}")
        if high is None:
            args.append(f"max_value={2**63 - 1}")
        return f"st.integers({', '.join(args)})"
    args = ["allow_nan=False", "allow_infinity=False"]
    if low is not None:
        args.append(f"min_value={float(low)!r}")
        if "exclusiveMinimum" in schema:
            args.append("exclude_min=True")
    if high is not None:
        args.append(f"max_value={float(high)!r}")
        if "exclusiveMaximum" in schema:
            args.append("exclude_max=True")
    if low is None and high is None:
        args += ["min_value=-1e12", "max_value=1e12"]
    return f"st.floats({', '.join(args)})"


def strategy(schema: dict[str, Any], types: dict[str, TypeDef], depth: int = 0) -> str:
    """Source of a strategy for one field or type schema."""
    named = schema.get("type") if schema.get("type") in types else None
    if named is not None and "properties" in resolve({"type": named}, types):
        text = f"st.deferred(lambda: {snake(str(named))}())"
    else:
        text = _inline(resolve(schema, types), types, depth)
    return f"st.none() | {text}" if schema.get("nullable") else text


def _inline(schema: dict[str, Any], types: dict[str, TypeDef], depth: int) -> str:
    if "enum" in schema:
        return f"st.sampled_from({list(schema['enum'])!r})"
    if "const" in schema:
        return f"st.just({schema['const']!r})"
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if kind == "string":
        return _string(schema)
    if kind == "integer":
        return _number(schema, True)
    if kind == "number":
        return _number(schema, False)
    if kind == "boolean":
        return "st.booleans()"
    if kind == "array":
        item = strategy(schema.get("items", {"type": "string"}), types, depth + 1)
        low, high = schema.get("minItems", 0), min(schema.get("maxItems", 5), 5)
        unique = ", unique=True" if schema.get("uniqueItems") else ""
        return f"st.lists({item}, min_size={low}, max_size={max(high, low)}{unique})"
    if kind == "object" and "properties" in schema:
        return _object(schema, types, depth)
    return "st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8), max_size=3)"


def _object(schema: dict[str, Any], types: dict[str, TypeDef], depth: int) -> str:
    required = set(schema.get("required", []))
    props = schema.get("properties", {})
    must = {k: strategy(v, types, depth + 1) for k, v in props.items() if k in required}
    may = {k: strategy(v, types, depth + 1) for k, v in props.items() if k not in required}
    inner_must = ", ".join(f"{k!r}: {v}" for k, v in must.items())
    inner_may = ", ".join(f"{k!r}: {v}" for k, v in may.items())
    optional = f", optional={{{inner_may}}}" if may else ""
    return f"st.fixed_dictionaries({{{inner_must}}}{optional})"


def module(types: dict[str, TypeDef], names: list[str]) -> list[tuple[str, str, str]]:
    """(function name, type name, strategy source) for each object type in ``names``."""
    out = []
    for name in names:
        schema = resolve({"type": name}, types)
        if "properties" in schema:
            out.append((snake(name), name, _object(schema, types, 0)))
    return out
