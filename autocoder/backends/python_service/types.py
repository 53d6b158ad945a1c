"""View models for the generated ``models.py``: IR types -> pydantic v2 annotations.

Pure functions over the IR; the template only loops and substitutes.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import Any

from autocoder.ir.models import IR, TypeDef

_SCALARS = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
_FORMATS = {
    "uuid": "uuid.UUID",
    "date-time": "datetime.datetime",
    "date": "datetime.date",
    "time": "datetime.time",
}
_CONSTRAINTS = {  # blueprint keyword -> pydantic Field argument
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "ge",
    "maximum": "le",
    "exclusiveMinimum": "gt",
    "exclusiveMaximum": "lt",
    "multipleOf": "multiple_of",
    "minItems": "min_length",
    "maxItems": "max_length",
}


@dataclass(frozen=True)
class FieldView:
    attribute: str
    annotation: str
    default: str | None


@dataclass(frozen=True)
class ModelView:
    name: str
    description: str
    extra: str
    fields: list[FieldView]


@dataclass(frozen=True)
class MessageView:
    """A type as a message between components: the fields the server sets may be absent."""

    name: str
    base: str
    fields: list[FieldView]


@dataclass(frozen=True)
class AliasView:
    name: str
    annotation: str
    description: str


def attribute_name(name: str) -> str:
    """A field name as a Python attribute: keywords and pydantic's ``model_`` get a suffix."""
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name.startswith("model_"):
        return name + "_"
    return name


def _base(schema: dict[str, Any], types: dict[str, TypeDef]) -> str:
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if kind in types:
        return str(kind)
    if "enum" in schema:
        return "Literal[" + ", ".join(repr(v) for v in schema["enum"]) + "]"
    if "const" in schema:
        return f"Literal[{schema['const']!r}]"
    if kind == "string" and schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        return f"list[{annotation(schema.get('items', {}), types)}]"
    if kind == "object":
        return "dict[str, Any]"
    return "Any"


def annotation(schema: dict[str, Any], types: dict[str, TypeDef]) -> str:
    """The annotation of one field: base type, constraints, nullability."""
    base = _base(schema, types)
    constraints = [
        f"{arg}={schema[key]!r}"
        for key, arg in _CONSTRAINTS.items()
        if key in schema and not (key == "pattern" and "format" in schema)
    ]
    if schema.get("description"):
        constraints.append(f"description={schema['description']!r}")
    validators = ""
    if schema.get("uniqueItems") and base.startswith("list["):
        constraints.append('json_schema_extra={"uniqueItems": True}')
        validators = ", AfterValidator(unique_items)"
    text = (
        f"Annotated[{base}, Field({', '.join(constraints)}){validators}]" if constraints else base
    )
    return f"{text} | None" if schema.get("nullable") else text


def _field(
    name: str, schema: dict[str, Any], required: bool, types: dict[str, TypeDef]
) -> FieldView:
    attribute = attribute_name(name)
    text = annotation(schema, types)
    alias = f"alias={name!r}" if attribute != name else None
    if "default" in schema:
        default: str | None = repr(schema["default"])
    elif required:
        default = None
    else:
        text = text if text.endswith("| None") else f"{text} | None"
        default = "None"
    if alias:
        wrapped = f"Field({default}, {alias})" if default is not None else f"Field(..., {alias})"
        return FieldView(attribute, text, wrapped)
    return FieldView(attribute, text, default)


def view(ir: IR) -> dict[str, Any]:
    """The template context for ``models.py``."""
    types = {t.name: t for t in ir.types}
    models, aliases, messages = [], [], []
    for type_ in ir.types:
        schema = type_.schema_
        if "properties" in schema or schema.get("type", "object") == "object":
            required = set(schema.get("required", []))
            models.append(
                ModelView(
                    name=type_.name,
                    description=type_.description,
                    extra="allow" if schema.get("additionalProperties") else "forbid",
                    fields=[
                        _field(n, s, n in required, types)
                        for n, s in schema.get("properties", {}).items()
                    ],
                )
            )
            read_only = [
                _field(n, {**s, "nullable": True}, False, types)
                for n, s in schema.get("properties", {}).items()
                if s.get("readOnly") and n in required and "default" not in s
            ]
            if read_only:
                messages.append(MessageView(f"{type_.name}Message", type_.name, read_only))
        else:
            aliases.append(AliasView(type_.name, annotation(schema, types), type_.description))
    texts = [a.annotation for a in aliases] + [
        f"{f.annotation} {f.default}" for m in models for f in m.fields
    ]
    used = " ".join(texts)
    typing_names = [
        n
        for n in ("Annotated", "Any", "Literal")
        if f"{n}[" in used or (n == "Any" and ("Any" in used or "AfterValidator(" in used))
    ]
    return {
        "system_name": ir.system.name,
        "models": models,
        "aliases": aliases,
        "messages": messages,
        "imports": {
            "datetime": "datetime." in used,
            "uuid": "uuid." in used,
            "typing": typing_names,
            "pydantic": (["AfterValidator"] if "AfterValidator(" in used else [])
            + (["BaseModel", "ConfigDict"] if models else [])
            + (["Field"] if "Field(" in used else []),
            "unique_items": "AfterValidator(" in used,
        },
    }
