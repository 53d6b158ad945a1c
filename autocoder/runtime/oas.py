"""OpenAPI 3.0/3.1 Schema Objects as JSON Schema 2020-12, and validators for any schema of a
document by its JSON pointer.

OpenAPI 3.1 schemas already are JSON Schema 2020-12. OpenAPI 3.0 uses an extended subset:
``nullable``, boolean ``exclusiveMinimum``/``exclusiveMaximum``, a single ``example``. A whole
document is converted once (every Schema Object it holds, wherever it sits) so that ``$ref``
pointers keep resolving against the document root, and one view is made per direction:
a request does not have to carry ``readOnly`` properties, a response does not have to carry
``writeOnly`` ones (they are taken out of ``required``).

``Schemas(document).validator("#/components/schemas/Pet", "response")`` gives a
``jsonschema`` validator; formats are checked for what ``jsonschema`` knows without extra
packages (date, date-time is checked with RFC 3339's grammar here, email, ipv4, ipv6, uuid).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.protocols import Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

Direction = Literal["request", "response"]
BASE_URI = "urn:autocoder:contract"

# Keywords whose value is one schema, a list of schemas, or a map of name -> schema.
_ONE: tuple[str, ...] = (
    *("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else"),
    *("unevaluatedItems", "unevaluatedProperties", "additionalItems"),
)
_MANY = ("allOf", "oneOf", "anyOf", "prefixItems")
_MAP = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")

_RFC3339_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


# ECMA-262 Unicode property classes that Python's ``re`` lacks, as ``re`` classes (the
# general categories as close as ``re`` can say them; \w is Unicode-aware in Python).
_UNICODE_CLASSES = {
    "L": r"[^\W\d_]",
    "Letter": r"[^\W\d_]",
    "Lu": r"[^\W\d_]",
    "Ll": r"[^\W\d_]",
    "N": r"\d",
    "Nd": r"\d",
    "Number": r"\d",
    "Alphabetic": r"[^\W\d_]",
}
_NAMED_REFERENCE = re.compile(r"\\k<([A-Za-z_][A-Za-z0-9_]*)>")
_PROPERTY = re.compile(r"\\([pP])\{([A-Za-z_]+)\}")


def python_pattern(pattern: str) -> str | None:
    r"""``pattern`` as a Python regular expression: unchanged when ``re`` compiles it, with
    ``\p{L}``-style classes translated when that makes it compile (inside a bracket class,
    the class becomes an alternation), else None: the caller drops the constraint and the
    importer says so at compile time."""
    try:
        re.compile(pattern)
        return pattern
    except re.error:
        pass
    try:
        translated = _translate(pattern)
        re.compile(translated)
    except (ValueError, re.error):
        return None
    return translated


def _property_class(negated: bool, name: str) -> str:
    cls = _UNICODE_CLASSES.get(name)
    if cls is None:
        raise ValueError(name)
    if negated:
        return r"\D" if cls == r"\d" else r"[\W\d_]"
    return cls


def _translate(pattern: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            found = _PROPERTY.match(pattern, i)
            reference = _NAMED_REFERENCE.match(pattern, i)
            if found:
                out.append(_property_class(found.group(1) == "P", found.group(2)))
                i = found.end()
            elif reference:
                out.append(f"(?P={reference.group(1)})")
                i = reference.end()
            else:
                out.append(pattern[i : i + 2])
                i += 2
        elif pattern.startswith("(?<", i) and pattern[i + 3 : i + 4] not in ("=", "!"):
            out.append("(?P<")  # an ECMAScript named group
            i += 3
        elif char == "[":
            end, alternatives, rest = _bracket(pattern, i)
            if alternatives:
                kept = [f"[{rest}]"] if rest else []
                out.append("(?:" + "|".join(alternatives + kept) + ")")
            else:
                out.append(pattern[i:end])
            i = end
        else:
            out.append(char)
            i += 1
    return "".join(out)


def _bracket(pattern: str, start: int) -> tuple[int, list[str], str]:
    """The end of the bracket class at ``start``, its ``\\p`` classes translated, and the rest
    of its content. A negated class with a property class cannot be said in ``re``."""
    i = start + 1
    negated = pattern.startswith("^", i)
    if negated:
        i += 1
    if pattern.startswith("]", i):
        i += 1  # a leading ] is a literal
    alternatives: list[str] = []
    rest: list[str] = []
    while i < len(pattern) and pattern[i] != "]":
        found = _PROPERTY.match(pattern, i) if pattern[i] == "\\" else None
        if found:
            if negated:
                raise ValueError("negated class with a Unicode property")
            alternatives.append(_property_class(found.group(1) == "P", found.group(2)))
            i = found.end()
        elif pattern[i] == "\\":
            rest.append(pattern[i : i + 2])
            i += 2
        else:
            rest.append(pattern[i])
            i += 1
    if i >= len(pattern):
        raise ValueError("unterminated character class")
    body = ("^" if negated else "") + "".join(rest)
    return i + 1, alternatives, body


def base_path(document: dict[str, Any]) -> str:
    """The path prefix the API lives under: the path of the first server's URL, its variables
    given their defaults (``https://api.example.com/v1`` -> ``/v1``; none or ``/`` -> "")."""
    servers = document.get("servers")
    first = servers[0] if isinstance(servers, list) and servers else None
    if not isinstance(first, dict) or not isinstance(first.get("url"), str):
        return ""
    url = first["url"]
    variables = first.get("variables")
    for name, spec in (variables if isinstance(variables, dict) else {}).items():
        default = spec.get("default", "") if isinstance(spec, dict) else ""
        url = url.replace("{" + str(name) + "}", str(default))
    path = urlsplit(url).path if "://" in url else url.split("?", 1)[0]
    path = "/" + path.strip("/") if path.strip("/") else ""
    return "" if "{" in path else path


def duplicate_operation_ids(document: dict[str, Any]) -> set[str]:
    """operationIds used by more than one operation: such operations are keyed by
    ``METHOD /path`` instead (the compiler warns)."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for item in (document.get("paths") or {}).values():
        if not isinstance(item, dict):
            continue
        for method in _METHODS:
            operation = item.get(method)
            op_id = operation.get("operationId") if isinstance(operation, dict) else None
            if isinstance(op_id, str):
                (repeated if op_id in seen else seen).add(op_id)
    return repeated


def is_openapi_30(document: dict[str, Any]) -> bool:
    return str(document.get("openapi", "")).startswith("3.0")


def convert_schema(
    schema: Any,
    *,
    openapi_30: bool,
    direction: Direction | None = None,
    document: dict[str, Any] | None = None,
) -> Any:
    """One Schema Object (and everything inside it) as JSON Schema 2020-12; ``document`` lets
    a property's ``readOnly``/``writeOnly`` be read through its ``$ref``."""
    if not isinstance(schema, dict):
        return schema  # booleans (3.1) and damaged input pass through
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ONE:
            out[key] = convert_schema(
                value, openapi_30=openapi_30, direction=direction, document=document
            )
        elif key in _MANY and isinstance(value, list):
            out[key] = [
                convert_schema(v, openapi_30=openapi_30, direction=direction, document=document)
                for v in value
            ]
        elif key in _MAP and isinstance(value, dict):
            out[key] = {
                k: convert_schema(v, openapi_30=openapi_30, direction=direction, document=document)
                for k, v in value.items()
            }
        else:
            out[key] = value
    if isinstance(out.get("pattern"), str):
        translated = python_pattern(out["pattern"])
        if translated is None:
            del out["pattern"]  # the importer warns about it at compile time
        else:
            out["pattern"] = translated
    if direction is not None:
        # before _from_30, which may wrap a nullable schema without a type in an anyOf
        _drop_one_sided_required(out, direction, document)
    if openapi_30:
        out = _from_30(out)
    return out


def _from_30(schema: dict[str, Any]) -> dict[str, Any]:
    if "example" in schema:
        example = schema.pop("example")
        schema.setdefault("examples", [example])
    for bound, exclusive in (("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")):
        flag = schema.get(exclusive)
        if isinstance(flag, bool):
            del schema[exclusive]
            if flag and bound in schema:
                schema[exclusive] = schema.pop(bound)
    if schema.pop("nullable", False) is True:
        schema = _nullable(schema)
    return schema


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = [kind, "null"]
        if "enum" in schema and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
        return schema
    if isinstance(kind, list):
        if "null" not in kind:
            schema["type"] = [*kind, "null"]
        return schema
    # no type of its own ($ref, allOf, ...): null or whatever the rest says; readOnly and
    # writeOnly stay visible to the object holding the property
    marks: dict[str, Any] = {k: schema[k] for k in ("readOnly", "writeOnly") if k in schema}
    return {"anyOf": [schema, {"type": "null"}], **marks}


def _drop_one_sided_required(
    schema: dict[str, Any], direction: Direction, document: dict[str, Any] | None
) -> None:
    required = schema.get("required")
    properties = schema.get("properties")
    if not isinstance(required, list) or not isinstance(properties, dict):
        return
    hidden = "readOnly" if direction == "request" else "writeOnly"
    schema["required"] = [
        name for name in required if not _flagged(properties.get(name), hidden, document)
    ]


def _flagged(schema: Any, flag: str, document: dict[str, Any] | None) -> bool:
    """Whether ``schema`` says ``flag: true`` itself or through its local ``$ref`` chain (the
    usual way to write it in 3.0, where a ``$ref``'s siblings are ignored)."""
    for _ in range(16):
        if not isinstance(schema, dict):
            return False
        if schema.get(flag) is True:
            return True
        ref = schema.get("$ref")
        if document is None or not isinstance(ref, str) or not ref.startswith("#/"):
            return False
        schema = document
        for token in ref[2:].split("/"):
            token = token.replace("~1", "/").replace("~0", "~")
            schema = schema.get(token) if isinstance(schema, dict) else None
    return False


def schema_pointers(document: dict[str, Any]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every Schema Object position of an OpenAPI document that is not inside another
    schema: components, parameters, request bodies, responses, headers, callbacks' paths."""
    components = document.get("components") or {}
    for name, schema in _items(components.get("schemas")):
        yield ("components", "schemas", name), schema
    for name, parameter in _items(components.get("parameters")):
        yield from _parameter(("components", "parameters", name), parameter)
    for name, body in _items(components.get("requestBodies")):
        yield from _content(("components", "requestBodies", name, "content"), body)
    for name, response in _items(components.get("responses")):
        yield from _response(("components", "responses", name), response)
    for name, header in _items(components.get("headers")):
        yield from _parameter(("components", "headers", name), header)
    for name, item in _items(components.get("pathItems")):
        yield from _path_item(("components", "pathItems", name), item)
    for path, item in _items(document.get("paths")):
        yield from _path_item(("paths", path), item)
    for name, item in _items(document.get("webhooks")):
        yield from _path_item(("webhooks", name), item)


def _items(value: Any) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        yield from ((str(k), v) for k, v in value.items())


def _parameter(at: tuple[str, ...], parameter: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    if not isinstance(parameter, dict):
        return
    if "schema" in parameter:
        yield (*at, "schema"), parameter["schema"]
    yield from _content((*at, "content"), parameter)


def _content(at: tuple[str, ...], holder: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    content = holder.get("content") if isinstance(holder, dict) else None
    for media, item in _items(content):
        if isinstance(item, dict) and "schema" in item:
            yield (*at, media, "schema"), item["schema"]


def _response(at: tuple[str, ...], response: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    if not isinstance(response, dict):
        return
    yield from _content((*at, "content"), response)
    for name, header in _items(response.get("headers")):
        yield from _parameter((*at, "headers", name), header)


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _path_item(at: tuple[str, ...], item: Any) -> Iterator[tuple[tuple[str, ...], Any]]:
    if not isinstance(item, dict):
        return
    for i, parameter in enumerate(item.get("parameters") or []):
        yield from _parameter((*at, "parameters", str(i)), parameter)
    for method in _METHODS:
        operation = item.get(method)
        if not isinstance(operation, dict):
            continue
        here = (*at, method)
        for i, parameter in enumerate(operation.get("parameters") or []):
            yield from _parameter((*here, "parameters", str(i)), parameter)
        yield from _content((*here, "requestBody", "content"), operation.get("requestBody"))
        for status, response in _items(operation.get("responses")):
            yield from _response((*here, "responses", status), response)
        for name, callback in _items(operation.get("callbacks")):
            for expression, callback_item in _items(callback):
                yield from _path_item((*here, "callbacks", name, expression), callback_item)


def convert_document(document: dict[str, Any], direction: Direction) -> dict[str, Any]:
    """A copy of ``document`` whose Schema Objects are JSON Schema 2020-12 for ``direction``."""
    openapi_30 = is_openapi_30(document)
    out = copy.deepcopy(document)
    for at, schema in list(schema_pointers(document)):
        holder: Any = out
        for token in at[:-1]:
            holder = holder[int(token)] if isinstance(holder, list) else holder[token]
        holder[at[-1]] = convert_schema(
            schema, openapi_30=openapi_30, direction=direction, document=document
        )
    return out


def pointer(*tokens: str) -> str:
    """``pointer("paths", "/pets", "get")`` -> ``#/paths/~1pets/get``."""
    return "#/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in tokens)


def _uri(ref: str) -> str:
    """``ref`` as a URI: a fragment is percent-decoded when resolved, so a ``%`` in a key
    (a path ``/a%20b``) has to be escaped."""
    return BASE_URI + ref.replace("%", "%25")


def _date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_RFC3339.match(value))


def _time(value: object) -> bool:
    return not isinstance(value, str) or bool(_RFC3339_TIME.match(value))


FORMATS = FormatChecker()
FORMATS.checks("date-time")(_date_time)
FORMATS.checks("time")(_time)  # RFC 3339 full-time: an offset is required


class Schemas:
    """Validators for the schemas of one OpenAPI document, per direction, made on demand."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._registries: dict[str, Registry[Any]] = {}
        self._validators: dict[tuple[str, str], Validator] = {}

    def registry(self, direction: Direction) -> Registry[Any]:
        if direction not in self._registries:
            converted = convert_document(self.document, direction)
            resource = Resource.from_contents(converted, default_specification=DRAFT202012)
            self._registries[direction] = Registry().with_resource(BASE_URI, resource)
        return self._registries[direction]

    def resolve(self, ref: str, direction: Direction) -> Any:
        """The converted schema at ``ref`` (``#/...``)."""
        resolver = self.registry(direction).resolver(base_uri=BASE_URI)
        return resolver.lookup(_uri(ref)).contents

    def validator(self, ref: str, direction: Direction) -> Validator:
        """A validator of the schema at ``ref`` (a pointer into the document, ``#/...``)."""
        key = (ref, direction)
        if key not in self._validators:
            self._validators[key] = Draft202012Validator(
                {"$ref": _uri(ref)},
                registry=self.registry(direction),
                format_checker=FORMATS,
            )
        return self._validators[key]
