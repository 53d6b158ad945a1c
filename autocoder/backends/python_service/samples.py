"""Deterministic sample values of blueprint types, for the generated tests.

A sample satisfies the type's schema: it prefers the schema's own ``examples``, then its
``default``, then a typical value inside the bounds (the middle of a range, one step above a
minimum), so that declarative conditions written for real data tend to accept it. Patterns are
sampled from Python's own regex parser, always taking the first choice, so regeneration is
byte-identical.

``variant=n`` (n > 0) gives the n-th of a series of distinct values where the schema allows
it: strings from a pattern count through its character classes, free text, e-mail addresses
and UUIDs carry the number; enums, numbers and timestamps stay as in variant 0, so that
conditions written for the typical value keep accepting it. Load generators use it to send
records with distinct keys.
"""

from __future__ import annotations

import re
import re._constants as sre_constants  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from typing import Any

from autocoder.ir.models import TypeDef

from .views import resolve

_FORMATS = {
    "uuid": "00000000-0000-4000-8000-000000000001",
    "date-time": "2026-01-15T09:30:00Z",
    "date": "2026-01-15",
    "time": "09:30:00",
    "email": "ada@example.com",
    "uri": "https://example.com/",
    "hostname": "example.com",
    "ipv4": "192.0.2.1",
}


def from_pattern(pattern: str, variant: int = 0) -> str:
    """A short string matching ``pattern`` (verified; falls back to ``"a"`` if none found).
    ``variant`` picks other characters of the pattern's classes (the first class position
    counts fastest); a variant that does not match falls back to variant 0."""
    try:
        parsed = sre_parse.parse(pattern)
        text = _walk(parsed, [variant])
        if variant and not re.search(pattern, text):
            text = _walk(parsed, [0])
    except (re.error, ValueError, TypeError):
        return "a"
    return text if re.search(pattern, text) else "a"


def _walk(items: Any, counter: list[int]) -> str:
    """``counter[0]`` is the variant still to spend, in mixed radix over the class positions."""
    out = []
    for op, arg in items:
        if op is sre_constants.LITERAL:
            out.append(chr(arg))
        elif op is sre_constants.ANY:
            out.append("a")
        elif op is sre_constants.IN:
            choices = _class_chars(arg) if counter[0] else []
            if choices:
                counter[0], pick = divmod(counter[0], len(choices))
                out.append(choices[pick])
            else:
                out.append(_first_in(arg))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT):
            low, _high, sub = arg
            times = max(low, 1 if low == 0 and _high else low)
            out.append("".join(_walk(sub, counter) for _ in range(times)))
        elif op is sre_constants.SUBPATTERN:
            out.append(_walk(arg[-1], counter))
        elif op is sre_constants.BRANCH:
            out.append(_walk(arg[1][0], counter))
        # anchors (AT) and other zero-width items produce nothing
    return "".join(out)


def _class_chars(items: Any) -> list[str]:
    """The characters of a positive class of literals and small ranges, in order; [] for a
    negated class or a category (the first choice is used there)."""
    chars: list[str] = []
    for op, arg in items:
        if op is sre_constants.LITERAL:
            chars.append(chr(arg))
        elif op is sre_constants.RANGE and arg[1] - arg[0] < 128:
            chars.extend(chr(c) for c in range(arg[0], arg[1] + 1))
        else:
            return []
    return list(dict.fromkeys(chars))


def _first_in(items: Any) -> str:
    negate = False
    for op, arg in items:
        if op is sre_constants.NEGATE:
            negate = True
        elif negate:
            return "a" if op is not sre_constants.LITERAL or chr(arg) != "a" else "b"
        elif op is sre_constants.LITERAL:
            return chr(arg)
        elif op is sre_constants.RANGE:
            return chr(arg[0])
        elif op is sre_constants.CATEGORY:
            return {"CATEGORY_DIGIT": "0", "CATEGORY_SPACE": " "}.get(str(arg), "a")
    return "a"


def _number(schema: dict[str, Any], integer: bool) -> int | float:
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None and high is not None:
        value: float = (low + high) / 2
    elif low is not None:
        value = low + 1
    elif high is not None:
        value = high - 1
    else:
        value = 1
    return int(value) if integer else float(value)


def sample(
    schema: dict[str, Any], types: dict[str, TypeDef], depth: int = 0, variant: int = 0
) -> Any:
    """A JSON value valid for ``schema`` (a blueprint field or type schema); ``variant``: see
    the module docstring."""
    schema = resolve(schema, types)
    if variant and schema.get("type") == "string" and "enum" not in schema:
        varied = _string_variant(schema, variant)
        if varied is not None:
            return varied
    if schema.get("examples"):
        return schema["examples"][0]
    if "default" in schema and schema["default"] is not None:
        return schema["default"]
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if kind == "string":
        if schema.get("format") in _FORMATS:
            return _FORMATS[schema["format"]]
        if "pattern" in schema:
            return from_pattern(schema["pattern"])
        text = "sample"
        low, high = schema.get("minLength", 0), schema.get("maxLength", 64)
        return (text * (low // len(text) + 1))[: max(low, min(len(text), high))]
    if kind == "integer":
        return _number(schema, True)
    if kind == "number":
        return _number(schema, False)
    if kind == "boolean":
        return True
    if kind == "array":
        count = max(1, schema.get("minItems", 0)) if depth < 3 else schema.get("minItems", 0)
        item = sample(schema.get("items", {"type": "string"}), types, depth + 1, variant)
        return [item] * count if not schema.get("uniqueItems") or count <= 1 else [item]
    if kind == "object":
        required = set(schema.get("required", []))
        return {
            name: sample(spec, types, depth + 1, variant)
            for name, spec in schema.get("properties", {}).items()
            if (name in required or depth == 0) and not spec.get("readOnly")
        }
    return "sample"


def _string_variant(schema: dict[str, Any], variant: int) -> str | None:
    """The ``variant``-th distinct string for ``schema``, or None to use variant 0."""
    low, high = schema.get("minLength", 0), schema.get("maxLength", 64)
    fmt = schema.get("format")
    if fmt == "uuid":
        return f"00000000-0000-4000-8000-{variant:012x}"[-36:]
    if fmt == "email":
        return f"ada+{variant}@example.com"
    if fmt in _FORMATS:
        return None  # dates and the like keep their typical value
    if "pattern" in schema:
        text = from_pattern(schema["pattern"], variant)
        return text if text != from_pattern(schema["pattern"]) else None
    text = f"sample{variant}"
    text = (text * (low // len(text) + 1))[: max(low, len(text))]
    return text if len(text) <= high else None


def type_sample(name: str, types: dict[str, TypeDef], variant: int = 0) -> Any:
    return sample({"type": name}, types, variant=variant)
