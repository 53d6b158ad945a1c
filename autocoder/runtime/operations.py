"""The operations of an OpenAPI 3.0/3.1 document as the runtime needs them, without any web
framework: ``Contract(document)`` reads every operation (path-item parameters merged, local
``$ref`` followed, style and explode resolved), matches request paths to them (below the
first server's base path), and coerces parameter values by their schemas. ``contract.py``
serves them; the generator reads them too.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

from .oas import Direction, Schemas, base_path, duplicate_operation_ids, pointer

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_DEFAULT_STYLE = {"path": "simple", "query": "form", "header": "simple", "cookie": "form"}
DELIMITERS = {"form": ",", "spaceDelimited": " ", "pipeDelimited": "|"}
# OpenAPI: header parameters with these names are ignored (other fields say them).
_INTEGER = re.compile(r"[+-]?\d+")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_VARIABLE = re.compile(r"\{([^{}]+)\}")
ABSENT: Any = object()

# ------------------------------------------------------------------------------ the contract


@dataclass(frozen=True)
class Parameter:
    """One parameter of an operation; ``style`` and ``explode`` resolved to their defaults."""

    name: str
    location: str  # "path" | "query" | "header" | "cookie"
    required: bool
    style: str
    explode: bool
    schema: str | None  # pointer to the schema; None when ``content`` is used
    media_type: str | None  # the single ``content`` media type
    content_schema: str | None = None  # pointer to that media type's schema ("" = none)
    allow_reserved: bool = False
    deprecated: bool = False

    @property
    def label(self) -> str:
        """How error details name it: ``query.limit``."""
        return f"{self.location}.{self.name}"


@dataclass(frozen=True)
class Operation:
    """One operation as the runtime needs it; every schema is a pointer into the document."""

    key: str  # operationId, else "GET /pets/{id}"
    method: str
    path: str
    pointer: str
    parameters: tuple[Parameter, ...]
    body_required: bool
    body: dict[str, str]  # media type -> schema pointer ("" = no schema)
    responses: dict[str, dict[str, str]]  # status -> media type -> schema pointer
    security: tuple[dict[str, tuple[str, ...]], ...]  # alternatives; () = public


@dataclass(frozen=True)
class PathItem:
    """A path template, its operations by method, and how it matches a request path."""

    template: str
    operations: dict[str, Operation]
    segments: tuple[str | _Segment, ...]
    literal: int  # literal characters: more of them win among templated paths
    order: int

    @property
    def concrete(self) -> bool:
        return all(isinstance(s, str) for s in self.segments)


@dataclass(frozen=True)
class _Segment:
    """A path segment holding variables; one variable alone needs no pattern."""

    names: tuple[str, ...]
    pattern: re.Pattern[str] | None

    def match(self, text: str) -> dict[str, str] | None:
        if self.pattern is None:
            return {self.names[0]: text} if text else None
        found = self.pattern.fullmatch(text)
        return dict(zip(self.names, found.groups(), strict=True)) if found else None


def _segments(template: str) -> tuple[str | _Segment, ...]:
    out: list[str | _Segment] = []
    for segment in template.split("/"):
        parts = _VARIABLE.split(segment)  # literal, name, literal, name, ..., literal
        if len(parts) == 1:
            out.append(unquote(segment))
        elif len(parts) == 3 and parts[0] == parts[2] == "":
            out.append(_Segment((parts[1],), None))
        else:
            regex = "".join(
                "(.+)" if i % 2 else re.escape(unquote(part)) for i, part in enumerate(parts)
            )
            out.append(_Segment(tuple(parts[1::2]), re.compile(regex, re.DOTALL)))
    return tuple(out)


def _tokens(at: str, *, uri: bool = False) -> tuple[str, ...]:
    """The tokens of a pointer ``#/a/b~1c``; a ``$ref`` (``uri``) is percent-encoded too."""
    path = unquote(at[1:]) if uri else at[1:]
    if not path:
        return ()
    return tuple(t.replace("~1", "/").replace("~0", "~") for t in path.lstrip("/").split("/"))


def _at(document: Any, tokens: Sequence[str]) -> Any:
    node = document
    for token in tokens:
        if isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise ValueError(f"{pointer(*tokens)} does not exist in the document")
    return node


def follow(document: Any, node: Any, at: tuple[str, ...]) -> tuple[Any, tuple[str, ...]]:
    """``node`` (found at ``at``) with its chain of local ``$ref`` followed, and where it is."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if not ref.startswith("#") or ref in seen:
            raise ValueError(f"cannot follow $ref {ref!r} at {pointer(*at)}")
        seen.add(ref)
        at = _tokens(ref, uri=True)
        node = _at(document, at)
    return node, at


def _content(holder: Any, at: tuple[str, ...]) -> dict[str, str]:
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict):
        return {}
    return {
        str(media): pointer(*at, "content", str(media), "schema")
        if isinstance(item, dict) and "schema" in item
        else ""
        for media, item in content.items()
    }


def _parameter(document: Any, raw: Any, at: tuple[str, ...]) -> Parameter:
    spec, at = follow(document, raw, at)
    if not isinstance(spec, dict):
        raise ValueError(f"the parameter at {pointer(*at)} is not an object")
    location = str(spec.get("in", ""))
    style = str(spec.get("style") or _DEFAULT_STYLE.get(location, "form"))
    explode = spec.get("explode")
    content = _content(spec, at)
    media = next(iter(content), None)
    return Parameter(
        name=str(spec.get("name", "")),
        location=location,
        required=location == "path" or spec.get("required") is True,
        style=style,
        explode=explode if isinstance(explode, bool) else style == "form",
        schema=pointer(*at, "schema") if media is None and "schema" in spec else None,
        media_type=media,
        content_schema=content[media] if media is not None else None,
        allow_reserved=spec.get("allowReserved") is True,
        deprecated=spec.get("deprecated") is True,
    )


def _parameters(document: Any, raw: Any, at: tuple[str, ...]) -> list[Parameter]:
    if not isinstance(raw, list):
        return []
    return [_parameter(document, p, (*at, "parameters", str(i))) for i, p in enumerate(raw)]


def _identity(parameter: Parameter) -> tuple[str, str]:
    name = parameter.name.lower() if parameter.location == "header" else parameter.name
    return name, parameter.location


def _security(value: Any) -> tuple[dict[str, tuple[str, ...]], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        {str(name): tuple(str(s) for s in scopes or ()) for name, scopes in requirement.items()}
        for requirement in value
        if isinstance(requirement, dict)
    )


def _operation(
    document: dict[str, Any],
    path: str,
    method: str,
    spec: dict[str, Any],
    at: tuple[str, ...],
    shared: list[Parameter],
) -> Operation:
    merged = {_identity(p): p for p in shared}
    for parameter in _parameters(document, spec.get("parameters"), at):
        merged[_identity(parameter)] = parameter
    body: dict[str, str] = {}
    body_required = False
    if "requestBody" in spec:
        request_body, body_at = follow(document, spec["requestBody"], (*at, "requestBody"))
        body = _content(request_body, body_at)
        body_required = isinstance(request_body, dict) and request_body.get("required") is True
    responses: dict[str, dict[str, str]] = {}
    for status, raw in (spec.get("responses") or {}).items():
        response, response_at = follow(document, raw, (*at, "responses", str(status)))
        responses[str(status)] = _content(response, response_at)
    security = spec["security"] if "security" in spec else document.get("security")
    operation_id = spec.get("operationId")
    return Operation(
        key=operation_id if isinstance(operation_id, str) and operation_id else "",
        method=method.upper(),
        path=path,
        pointer=pointer(*at),
        parameters=tuple(merged.values()),
        body_required=body_required,
        body=body,
        responses=responses,
        security=_security(security),
    )


class Contract:
    """The operations of an OpenAPI document, its schemas, and request-path matching.

    ``document`` is plain JSON data whose ``$ref`` are local (``#/...``); ``examples`` maps the
    pointer of a response schema to a value valid for it, from which documented error bodies
    are built."""

    def __init__(
        self, document: dict[str, Any], *, examples: Mapping[str, Any] | None = None
    ) -> None:
        self.document = document
        self.examples: dict[str, Any] = dict(examples or {})
        self.schemas = Schemas(document)
        self.operations: dict[str, Operation] = {}
        self._concrete: dict[tuple[str, ...], PathItem] = {}
        self._templated: dict[int, list[PathItem]] = {}
        self._nodes: dict[tuple[str, Direction], tuple[Any, str]] = {}
        self._types: dict[str, tuple[str, ...]] = {}
        self.base_path = base_path(document)
        self._repeated = duplicate_operation_ids(document)
        paths = document.get("paths") or {}
        for order, (template, raw) in enumerate(paths.items()):
            self._add(str(template), raw, order)
        for group in self._templated.values():
            group.sort(key=lambda item: (-item.literal, item.order))

    def _add(self, template: str, raw: Any, order: int) -> None:
        item, at = follow(self.document, raw, ("paths", template))
        if not isinstance(item, dict):
            return
        shared = _parameters(self.document, item.get("parameters"), at)
        operations: dict[str, Operation] = {}
        for method in METHODS:
            spec = item.get(method)
            if not isinstance(spec, dict):
                continue
            operation = _operation(self.document, template, method, spec, (*at, method), shared)
            key = operation.key or f"{operation.method} {template}"
            if key in self._repeated or key in self.operations:
                key = f"{operation.method} {template}"  # a repeated operationId
            operation = replace(operation, key=key)
            self.operations[key] = operation
            operations[operation.method] = operation
        segments = _segments(template)
        literal = len(_VARIABLE.sub("", template))
        path_item = PathItem(template, operations, segments, literal, order)
        if path_item.concrete:
            self._concrete.setdefault(tuple(str(s) for s in segments), path_item)
        else:
            self._templated.setdefault(len(segments), []).append(path_item)

    # ---------------------------------------------------------------------------- matching

    def find(self, path: str, method: str | None = None) -> tuple[PathItem, dict[str, str]] | None:
        """The path item serving ``path`` (as sent: percent-encoded, decoded segment by
        segment) and its variables' values: concrete paths first, then the templated path
        with the most literal characters, then document order. The paths live below the
        first server's base path (the path of ``servers[0].url``), where clients call them.
        With ``method``, a later path item of the same shape that has the method wins over one
        that does not (contracts that split one path's methods over two templates)."""
        if self.base_path:
            if path != self.base_path and not path.startswith(self.base_path + "/"):
                return None
            path = path[len(self.base_path) :] or "/"
        segments = tuple(unquote(s) for s in (path or "/").split("/"))
        item = self._concrete.get(segments)
        if item is not None:
            return item, {}
        first: tuple[PathItem, dict[str, str]] | None = None
        for item in self._templated.get(len(segments), ()):
            values: dict[str, str] = {}
            for want, got in zip(item.segments, segments, strict=True):
                if isinstance(want, str):
                    if want != got:
                        break
                else:
                    found = want.match(got)
                    if found is None:
                        break
                    values.update(found)
            else:
                if method is None or method.upper() in item.operations:
                    return item, values
                first = first or (item, values)
        return first

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        """The operation for ``method`` on ``path`` and the path variables' values."""
        found = self.find(path, method)
        if found is None:
            return None
        operation = found[0].operations.get(method.upper())
        return (operation, found[1]) if operation is not None else None

    def allowed(self, path: str) -> list[str]:
        """The methods of the path item matching ``path`` (for a 405's ``Allow``)."""
        found = self.find(path)
        return list(found[0].operations) if found is not None else []

    # ----------------------------------------------------------------------------- schemas

    def node(self, at: str, direction: Direction = "request") -> tuple[Any, str]:
        """The converted schema at ``at`` with its ``$ref`` chain followed, and its pointer."""
        key = (at, direction)
        cached = self._nodes.get(key)
        if cached is None:
            where, node = at, self.schemas.resolve(at, direction)
            for _ in range(64):
                ref = node.get("$ref") if isinstance(node, dict) else None
                if not (isinstance(ref, str) and ref.startswith("#")):
                    break
                where = unquote(ref)
                node = self.schemas.resolve(where, direction)
            cached = self._nodes[key] = (node, where)
        return cached

    def types(self, at: str) -> tuple[str, ...]:
        """The JSON types the (request) schema at ``at`` allows, as far as it says them."""
        cached = self._types.get(at)
        if cached is None:
            self._types[at] = ()  # a recursive schema says nothing more the second time
            cached = self._types[at] = self._find_types(at)
        return cached

    def _find_types(self, at: str) -> tuple[str, ...]:
        node, at = self.node(at)
        if not isinstance(node, dict):
            return ()
        kind = node.get("type")
        if isinstance(kind, str):
            return (kind,)
        if isinstance(kind, list):
            return tuple(str(k) for k in kind)
        found: list[str] = []
        for keyword in ("allOf", "oneOf", "anyOf"):
            for i, _ in enumerate(node.get(keyword) or ()):
                found.extend(t for t in self.types(f"{at}/{keyword}/{i}") if t not in found)
        if not found and "properties" in node:
            found.append("object")
        if not found and ("items" in node or "prefixItems" in node):
            found.append("array")
        enum = node.get("enum")
        values: list[Any] = list(enum) if isinstance(enum, list) else []
        for value in [*values, node["const"]] if "const" in node else values:
            kind = json_type(value)
            if kind not in found:
                found.append(kind)
        return tuple(found)

    def shape(self, at: str | None) -> str:
        """How a value of the schema at ``at`` is laid out in a parameter or a form field:
        "array", "object" or "primitive"."""
        types = self.types(at) if at else ()
        return "array" if "array" in types else "object" if "object" in types else "primitive"

    def _branches(self, at: str) -> Iterator[tuple[dict[str, Any], str]]:
        """The schema at ``at`` and the ``allOf`` members it holds, each with its pointer."""
        node, at = self.node(at)
        if not isinstance(node, dict):
            return
        yield node, at
        for i, _ in enumerate(node.get("allOf") or ()):
            yield from self._branches(f"{at}/allOf/{i}")

    def property_schema(self, at: str, name: str) -> str | None:
        """The pointer of the schema of property ``name`` of an object schema."""
        for node, where in self._branches(at):
            properties = node.get("properties")
            if isinstance(properties, dict) and name in properties:
                return f"{where}/properties/{_escape(name)}"
            for pattern in node.get("patternProperties") or {}:
                if re.search(pattern, name):
                    return f"{where}/patternProperties/{_escape(pattern)}"
        for node, where in self._branches(at):
            if isinstance(node.get("additionalProperties"), dict):
                return f"{where}/additionalProperties"
        return None

    def property_names(self, at: str) -> list[str]:
        names: list[str] = []
        for node, _ in self._branches(at):
            names.extend(n for n in node.get("properties") or {} if n not in names)
        return names

    def item_schema(self, at: str, index: int) -> str | None:
        """The pointer of the schema of item ``index`` of an array schema."""
        for node, where in self._branches(at):
            prefix = node.get("prefixItems")
            if isinstance(prefix, list) and index < len(prefix):
                return f"{where}/prefixItems/{index}"
            if isinstance(node.get("items"), dict):
                return f"{where}/items"
        return None

    def valid(self, value: Any, at: str) -> bool:
        return bool(self.schemas.validator(at, "request").is_valid(value))

    def coerce(self, value: Any, at: str) -> Any:
        """``value`` read from text (a parameter, a form field) as the schema at ``at`` says:
        numbers and booleans from strings, arrays item by item, objects property by property;
        with several types or ``oneOf``/``anyOf`` the first branch whose result validates.
        What cannot be coerced is left as it is, for validation to report."""
        node, at = self.node(at)
        if not isinstance(node, dict):
            return value
        for keyword in ("oneOf", "anyOf"):
            branches = node.get(keyword)
            if isinstance(branches, list) and "type" not in node:
                for i, _ in enumerate(branches):
                    candidate = self.coerce(value, f"{at}/{keyword}/{i}")
                    if self.valid(candidate, f"{at}/{keyword}/{i}"):
                        return candidate
                return value
        types = self.types(at)
        if len(types) == 1 or (not types and isinstance(value, list | dict)):
            kind = types[0] if types else "array" if isinstance(value, list) else "object"
            candidate = self._as(value, kind, at)
            return value if candidate is ABSENT else candidate
        first = ABSENT
        for kind in types:
            candidate = self._as(value, kind, at)
            if candidate is not ABSENT and self.valid(candidate, at):
                return candidate
            first = candidate if first is ABSENT else first
        return value if first is ABSENT else first  # the first coercion, for its errors

    def _as(self, value: Any, kind: str, at: str) -> Any:
        """``value`` as a ``kind``; ``ABSENT`` when it cannot be one."""
        if isinstance(value, str):
            if kind == "integer" and _INTEGER.fullmatch(value):
                return int(value)
            if kind == "number" and _NUMBER.fullmatch(value):
                return int(value) if _INTEGER.fullmatch(value) else float(value)
            if kind == "boolean" and value in ("true", "false"):
                return value == "true"
            if kind == "null" and value in ("", "null"):
                return None
            return value if kind == "string" else ABSENT
        if kind == "array" and isinstance(value, list):
            items = [(item, self.item_schema(at, i)) for i, item in enumerate(value)]
            return [self.coerce(item, where) if where else item for item, where in items]
        if kind == "object" and isinstance(value, dict):
            fields = [(k, v, self.property_schema(at, k)) for k, v in value.items()]
            return {k: self.coerce(v, where) if where else v for k, v, where in fields}
        actual = json_type(value)
        return value if actual == kind or (kind, actual) == ("number", "integer") else ABSENT

    def default(self, at: str | None) -> Any:
        """The ``default`` of the schema at ``at``, else ``ABSENT``."""
        if not at:
            return ABSENT
        node, _ = self.node(at)
        if isinstance(node, dict) and "default" in node:
            return copy.deepcopy(node["default"])
        return ABSENT

    def example(self, at: str) -> Any:
        """The precomputed example of the response schema at ``at`` (or of the schema its
        ``$ref`` names), else ``ABSENT``."""
        seen: set[str] = set()
        while at not in self.examples and at not in seen:
            seen.add(at)
            try:
                node = _at(self.document, _tokens(at))
            except ValueError:
                return ABSENT
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not (isinstance(ref, str) and ref.startswith("#")):
                return ABSENT
            at = pointer(*_tokens(ref, uri=True))
        return self.examples.get(at, ABSENT)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"
