"""Validate loaded blueprints against the JSON Schemas in ``schemas/`` with positioned diagnostics.

jsonschema errors carry the instance path; the loader's pointer table turns it into line:col.
Messages are rewritten for people: an unknown key names the key and suggests the closest valid
one, a missing key names the mapping that lacks it.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from autocoder.diagnostics import DiagnosticSink, codes
from autocoder.frontend.loader import join_pointer
from autocoder.resources import load_json_schema

_TYPE_NAMES = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean (true/false)",
    "null": "null",
}


@cache
def validator_for(schema_name: str) -> Draft202012Validator:
    schema = load_json_schema(schema_name)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _pointer(error: ValidationError) -> str:
    return join_pointer("", *error.absolute_path)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if value is None:
        return "null"
    return "string"


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _where(pointer: str) -> str:
    return f" in {pointer}" if pointer else " at the top level"


@cache
def fast_validator_for(schema_name: str) -> Any | None:
    """jsonschema-rs (compiled, ~100x faster) for the yes/no answer, when it is installed."""
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a dependency; the slow path stays correct
        return None
    return jsonschema_rs.validator_for(load_json_schema(schema_name), validate_formats=True)


def check_against_schema(
    data: Any,
    schema_name: str,
    file: str,
    sink: DiagnosticSink,
    *,
    skip: Callable[[ValidationError], bool] | None = None,
) -> bool:
    """Report every schema violation of ``data``; return True when there were none.

    Valid documents (the common case) are confirmed by jsonschema-rs; only an invalid one is
    walked by the Python jsonschema validator, whose errors carry what the diagnostics need.
    """
    fast = fast_validator_for(schema_name)
    if fast is not None and fast.is_valid(data):
        return True
    before = len(sink.diagnostics)
    for error in _leaf_errors(validator_for(schema_name).iter_errors(data)):
        if skip is None or not skip(error):
            _report(error, file, sink)
    return len(sink.diagnostics) == before


def _leaf_errors(errors: Iterable[ValidationError]) -> Iterable[ValidationError]:
    """Replace anyOf/oneOf umbrella errors by their most relevant cause."""
    for error in errors:
        if error.validator in ("anyOf", "oneOf") and error.context:
            if error.validator == "oneOf" and _is_exactly_one(error):
                yield error
                continue
            yield best_match(error.context)
        else:
            yield error


def _is_exactly_one(error: ValidationError) -> bool:
    """True for the `oneOf: [{required: [a]}, {required: [b]}]` idiom."""
    options = error.validator_value
    return all(set(o) == {"required"} and len(o["required"]) == 1 for o in options)


def check_definition(
    data: Any, schema_name: str, definition: str, file: str, prefix: str, sink: DiagnosticSink
) -> bool:
    """Validate ``data`` against one ``$defs`` entry; diagnostics point below ``prefix``."""
    schema = load_json_schema(schema_name)
    validator = Draft202012Validator(
        {"$ref": f"#/$defs/{definition}", "$defs": schema["$defs"]},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    before = len(sink.diagnostics)
    for error in _leaf_errors(validator.iter_errors(data)):
        _report(error, file, sink, prefix)
    return len(sink.diagnostics) == before


def _report(error: ValidationError, file: str, sink: DiagnosticSink, prefix: str = "") -> None:
    pointer = prefix + _pointer(error)
    instance, schema = error.instance, error.schema
    kind = error.validator
    if kind == "additionalProperties" and isinstance(instance, dict):
        known = sorted(schema.get("properties", {}))
        for key in sorted(set(instance) - set(known)):
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            hint = (
                f"did you mean {close[0]!r}?"
                if close
                else ("valid keys here: " + ", ".join(known) if known else None)
            )
            sink.report(
                codes.UNKNOWN_KEY,
                f"unknown key {key!r}{_where(pointer)}",
                file=file,
                pointer=join_pointer(pointer, key),
                key=True,
                hint=hint,
            )
        return
    if kind == "required" and isinstance(instance, dict):
        for key in [k for k in error.validator_value if k not in instance]:
            sink.report(
                codes.MISSING_KEY,
                f"missing required key {key!r}{_where(pointer)}",
                file=file,
                pointer=pointer,
                key=True,
                hint=_describe_key(schema, key),
            )
        return
    if kind == "oneOf" and isinstance(instance, dict):
        names = [o["required"][0] for o in error.validator_value]
        present = [n for n in names if n in instance]
        sink.report(
            codes.SCHEMA_VIOLATION,
            f"exactly one of {', '.join(names)} is required{_where(pointer)}"
            + (f" (found {', '.join(present)})" if present else ""),
            file=file,
            pointer=pointer,
            key=True,
        )
        return
    if kind == "type":
        expected = error.validator_value
        expected_list = expected if isinstance(expected, list) else [expected]
        wanted = " or ".join(_TYPE_NAMES.get(str(t), str(t)) for t in expected_list)
        got = _TYPE_NAMES[_json_type(instance)]
        sink.report(
            codes.WRONG_TYPE,
            f"expected {wanted}, got {got} {_short(instance)}{_where(pointer)}",
            file=file,
            pointer=pointer,
        )
        return
    if kind == "const" and pointer == "/schema_version":
        sink.report(
            codes.UNSUPPORTED_SCHEMA_VERSION,
            f"schema_version {_short(instance)} is not supported; this Autocoder reads version 1",
            file=file,
            pointer=pointer,
            hint="write `schema_version: 1`, or use the Autocoder release that matches the file",
        )
        return
    if "propertyNames" in error.absolute_schema_path and isinstance(instance, str):
        # jsonschema reports the failing keyword (pattern) on the key itself, at the mapping.
        sink.report(
            codes.INVALID_VALUE,
            f"name {instance!r} is not allowed{_where(pointer)}: {_message(error)}",
            file=file,
            pointer=join_pointer(pointer, instance),
            key=True,
        )
        return
    sink.report(
        codes.INVALID_VALUE
        if kind not in ("not", "if", "then", "allOf")
        else codes.SCHEMA_VIOLATION,
        f"{_message(error)}{_where(pointer)}",
        file=file,
        pointer=pointer,
        hint=_describe_key(error.parent.schema if error.parent else {}, pointer.rsplit("/", 1)[-1])
        if kind == "enum"
        else None,
    )


def _message(error: ValidationError) -> str:
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "enum":
        return f"{_short(instance)} is not one of {', '.join(map(repr, value))}"
    if kind == "pattern":
        return f"{_short(instance)} does not match the pattern {value!r}"
    if kind in ("minimum", "exclusiveMinimum"):
        return f"{_short(instance)} is below the minimum {value}"
    if kind in ("maximum", "exclusiveMaximum"):
        return f"{_short(instance)} is above the maximum {value}"
    if kind == "minItems":
        return f"the list needs at least {value} item{'s' * (value != 1)}"
    if kind == "minProperties":
        return f"the mapping needs at least {value} entr{'ies' if value != 1 else 'y'}"
    if kind == "minLength":
        return f"{_short(instance)} is shorter than {value} characters"
    if kind == "uniqueItems":
        return "the list has duplicate items"
    if kind == "format":
        return f"{_short(instance)} is not a valid {value}"
    if kind == "const":
        return f"{_short(instance)} must be {value!r}"
    return str(error.message)


def _describe_key(schema: dict[str, Any], key: str) -> str | None:
    prop = schema.get("properties", {}).get(key)
    if isinstance(prop, dict) and "description" in prop:
        return f"{key}: {prop['description']}"
    return None
