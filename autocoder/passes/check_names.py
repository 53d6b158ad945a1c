"""Names must become valid DNS-1123 labels (system, components, environments) and Python
identifiers (components, ports, types, operations), without two names colliding."""

from __future__ import annotations

import keyword
import re
from collections import defaultdict
from typing import Any

from autocoder.diagnostics import codes
from autocoder.ir.typesys import BUILTIN_TYPES
from autocoder.passes.context import PassContext

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
# Names the generated Python code uses itself; a type with one of these names would shadow it.
RESERVED_TYPE_NAMES = frozenset(
    {
        "str",
        "int",
        "float",
        "bool",
        "list",
        "dict",
        "set",
        "tuple",
        "bytes",
        "object",
        "type",
        "Any",
        "BaseModel",
        "Field",
        "Optional",
        "Literal",
        "Annotated",
        "Enum",
        "StrEnum",
        "datetime",
        "date",
        "time",
        "UUID",
        "Decimal",
        "Page",
        "Error",
    }
)


def python_name(name: str) -> str:
    return name.replace("-", "_")


def port_attribute(name: str) -> str:
    """The generated attribute of a port: keywords get a trailing ``_`` (``in`` -> ``in_``)."""
    mapped = python_name(name)
    return mapped + "_" if keyword.iskeyword(mapped) else mapped


def dns_name(name: str) -> str:
    return name.replace("_", "-")


def _check_dns(ctx: PassContext, what: str, name: str, origin: str, *, key: bool = True) -> None:
    """``key=False`` when the name is a value (``system: {name: ...}``), not a mapping key."""
    mapped = dns_name(name)
    if len(mapped) > 63 or not _DNS_LABEL.match(mapped):
        suggestion = re.sub(r"[^a-z0-9-]+", "-", mapped.lower()).strip("-")[:63].rstrip("-")
        ctx.report(
            codes.INVALID_DNS_NAME,
            f"{what} name {name!r} cannot become a DNS-1123 label "
            "(lowercase letters, digits and '-', starting with a letter, at most 63 characters)",
            origin,
            hint=f"rename it, for example to {suggestion!r}" if suggestion else None,
            key=key,
        )


def _check_identifier(
    ctx: PassContext, what: str, name: str, origin: str, *, keywords: bool = True
) -> None:
    """``keywords=False`` for names the generator suffixes with ``_`` (ports: ``in`` -> ``in_``)."""
    mapped = python_name(name)
    if not mapped.isidentifier() or not mapped.isascii():
        ctx.report(
            codes.INVALID_IDENTIFIER,
            f"{what} name {name!r} cannot become a Python identifier",
            origin,
            key=True,
        )
    elif keywords and (keyword.iskeyword(mapped) or keyword.issoftkeyword(mapped)):
        soft = " soft" if keyword.issoftkeyword(mapped) else ""
        ctx.report(
            codes.INVALID_IDENTIFIER,
            f"{what} name {name!r} is a Python{soft} keyword",
            origin,
            key=True,
            hint=f"rename it, for example to '{name}_'",
        )


def check_names(ctx: PassContext) -> None:
    ir = ctx.ir
    system_origin = "architecture.yaml#/system/name"
    _check_dns(ctx, "system", ir.system.name, system_origin, key=False)
    by_dns: dict[str, list[str]] = defaultdict(list)
    for env in ir.environments:
        _check_dns(ctx, "environment", env.name, env.origin)
        by_dns[dns_name(env.name)].append(env.name)
    for mapped, names in sorted(by_dns.items()):
        if len(names) > 1:
            ctx.report(
                codes.NAME_COLLISION,
                f"environments {' and '.join(map(repr, sorted(names)))} both become "
                f"the Kubernetes name {mapped!r}",
                next(e for e in ir.environments if e.name == sorted(names)[1]).origin,
                key=True,
            )
    by_python: dict[str, list[str]] = defaultdict(list)
    for component in ir.components:
        _check_dns(ctx, "component", component.name, component.origin)
        _check_identifier(ctx, "component", component.name, component.origin)
        by_python[python_name(component.name)].append(component.name)
        port_names: dict[str, str] = {}
        for port in (*component.inputs, *component.outputs):
            _check_identifier(ctx, "port", port.name, port.origin, keywords=False)
            mapped = port_attribute(port.name)
            if mapped in port_names:
                ctx.report(
                    codes.NAME_COLLISION,
                    f"port {port.name!r} of component {component.name!r} collides with "
                    f"port {port_names[mapped]!r}: both become the Python name {mapped!r}",
                    port.origin,
                    key=True,
                )
            port_names[mapped] = port.name
        for route in component.routes:
            # a contract operation's key is never a Python name (its handler's name is derived)
            if route.contract is None and keyword.iskeyword(route.operation_id):
                ctx.report(
                    codes.INVALID_IDENTIFIER,
                    f"operation_id {route.operation_id!r} is a Python keyword",
                    route.origin + "/operation_id",
                )
    for mapped, names in sorted(by_python.items()):
        if len(names) > 1:
            second = ctx.components[sorted(names)[1]]
            ctx.report(
                codes.NAME_COLLISION,
                f"components {' and '.join(map(repr, sorted(names)))} both become "
                f"the Python name {mapped!r}",
                second.origin,
                key=True,
            )
    lowered: dict[str, str] = {}
    for type_ in ir.types:
        _check_identifier(ctx, "type", type_.name, type_.origin)
        _check_field_names(ctx, type_.schema_, type_.origin)
        if type_.name in BUILTIN_TYPES:
            ctx.report(
                codes.INVALID_IDENTIFIER,
                f"type name {type_.name!r} is the name of a built-in type; references to it "
                "would mean the built-in",
                type_.origin,
                key=True,
                hint=f"rename it, for example to '{type_.name.capitalize()}Value'",
            )
        elif type_.name in RESERVED_TYPE_NAMES:
            ctx.report(
                codes.INVALID_IDENTIFIER,
                f"type name {type_.name!r} is reserved by the generated code",
                type_.origin,
                key=True,
                hint=f"rename it, for example to '{type_.name}Item'",
            )
        if type_.name.lower() in lowered:
            ctx.report(
                codes.NAME_COLLISION,
                f"types {lowered[type_.name.lower()]!r} and {type_.name!r} differ only "
                "in case (they would collide on case-insensitive file systems)",
                type_.origin,
                key=True,
            )
        lowered[type_.name.lower()] = type_.name


def _check_field_names(ctx: PassContext, schema: dict[str, Any], origin: str) -> None:
    """Field names become model attributes: a keyword (``class``, ``from``) cannot be one."""
    for name, sub in schema.get("properties", {}).items():
        where = f"{origin}/properties/{name}"
        if keyword.iskeyword(name):
            ctx.report(
                codes.INVALID_IDENTIFIER,
                f"field name {name!r} is a Python keyword",
                where,
                key=True,
                hint=f"rename it, for example to '{name}_'",
            )
        if isinstance(sub, dict):
            _check_field_names(ctx, sub, where)
    items = schema.get("items")
    if isinstance(items, dict):
        _check_field_names(ctx, items, f"{origin}/items")
