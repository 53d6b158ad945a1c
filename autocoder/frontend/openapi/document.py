"""Read an OpenAPI 3.0/3.1 document and check it: version, the specification's own JSON Schema,
every ``$ref``, regular expressions Python cannot run, and security schemes the service cannot
verify. Problems are positioned diagnostics on the document's own lines.

The document keeps its bytes: it is the contract the generated service serves, so it is
copied, never re-emitted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft4Validator, Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from autocoder.diagnostics import DiagnosticSink, Span, codes
from autocoder.frontend.loader import LoadedDocument, join_pointer, load_json_or_yaml_text
from autocoder.resources import load_json_schema

CONTRACT_MAX_BYTES = 64 * 1024 * 1024
MAX_SCHEMA_ERRORS = 20
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_VERSION = re.compile(r"^3\.(0|1)\.\d+(-.+)?$")


@dataclass
class Contract:
    """A checked OpenAPI document."""

    name: str  # the file name as architecture.yaml refers to it ("openapi.yaml")
    file: str  # the name diagnostics show
    raw: bytes
    loaded: LoadedDocument
    version: Literal["3.0", "3.1"]

    @property
    def data(self) -> dict[str, Any]:
        return self.loaded.data


def kind_of(data: Any) -> str | None:
    """``"openapi"``, ``"swagger"`` or None for a loaded YAML/JSON document."""
    if not isinstance(data, dict):
        return None
    if "openapi" in data:
        return "openapi"
    if "swagger" in data:
        return "swagger"
    return None


def read_contract(path: Path, file: str, name: str, sink: DiagnosticSink) -> Contract | None:
    """Load and check the OpenAPI document at ``path``; None after reporting."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        sink.report(
            codes.CONTRACT_NOT_FOUND,
            f"cannot read the contract: {exc.strerror or exc}",
            span=Span(file),
            hint="`contract` is a path relative to architecture.yaml",
        )
        return None
    if len(raw) > CONTRACT_MAX_BYTES:
        sink.report(
            codes.FILE_TOO_LARGE,
            f"the contract is {len(raw):,} bytes; the limit is {CONTRACT_MAX_BYTES:,}",
            span=Span(file),
        )
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        sink.report(codes.NOT_UTF8, f"the contract is not UTF-8: {exc.reason}", span=Span(file))
        return None
    loaded = load_json_or_yaml_text(text, file, sink, scalar_keys=True)
    if loaded is None:
        return None
    return check_contract(loaded, raw, name, sink)


def check_contract(
    loaded: LoadedDocument, raw: bytes, name: str, sink: DiagnosticSink
) -> Contract | None:
    data = loaded.data
    file = loaded.file
    kind = kind_of(data)
    if kind == "swagger":
        sink.report(
            codes.OPENAPI_SWAGGER2,
            f"this is a Swagger {data.get('swagger')} document; Autocoder reads OpenAPI 3.0 "
            "and 3.1",
            file=file,
            pointer="/swagger",
            hint="convert it first: `npx swagger2openapi spec.yaml -o openapi.yaml`",
        )
        return None
    version = str(data.get("openapi", "")) if kind == "openapi" else ""
    found = _VERSION.match(version)
    if found is None:
        sink.report(
            codes.NOT_OPENAPI,
            f"unsupported OpenAPI version {version!r}: Autocoder reads 3.0.x and 3.1.x"
            if kind == "openapi"
            else "neither blueprints nor an OpenAPI document (no top-level `openapi` key)",
            file=file,
            pointer="/openapi" if kind == "openapi" else "",
        )
        return None
    contract = Contract(name, file, raw, loaded, "3.0" if found.group(1) == "0" else "3.1")
    if not _schema_valid(contract, sink):
        return None
    if not _refs_resolve(contract, sink):
        return None
    _check_patterns(contract, sink)
    _check_security(contract, sink)
    _check_unserved(contract, sink)
    return contract


# --- the specification's schema -------------------------------------------------------------


@cache
def _validators(version: str) -> tuple[Any, Any]:
    schema = load_json_schema(f"openapi/{version}.json")
    slow: Any = (Draft4Validator if version == "3.0" else Draft202012Validator)(schema)
    try:
        import jsonschema_rs
    except ImportError:  # pragma: no cover - a dependency; the slow path stays correct
        return slow, None
    return slow, jsonschema_rs.validator_for(schema)


def _schema_valid(contract: Contract, sink: DiagnosticSink) -> bool:
    slow, fast = _validators(contract.version)
    if fast is not None and fast.is_valid(contract.data):
        return True
    errors = sorted(slow.iter_errors(contract.data), key=lambda e: list(e.absolute_path))
    if not errors:
        return True
    for error in _distinct(errors)[:MAX_SCHEMA_ERRORS]:
        sink.report(
            codes.OPENAPI_INVALID,
            _message(error),
            file=contract.file,
            pointer=join_pointer("", *error.absolute_path),
            hint=f"checked against the OpenAPI {contract.version} schema "
            f"(schemas/openapi/{contract.version}.json)",
        )
    return False


def _distinct(errors: list[ValidationError]) -> list[ValidationError]:
    """One error per instance location: the most relevant of the errors found there."""
    by_path: dict[tuple[Any, ...], list[ValidationError]] = {}
    for error in errors:
        by_path.setdefault(tuple(error.absolute_path), []).append(error)
    picked = []
    for group in by_path.values():
        match = best_match(group)
        if match is not None:
            picked.append(match)
    return picked


def _message(error: ValidationError) -> str:
    # The OpenAPI schemas are made of oneOf/anyOf of alternatives with patternProperties; the
    # deepest context error names the offending key best.
    deepest = error
    while deepest.context:
        deepest = max(deepest.context, key=lambda e: len(e.absolute_path))
    text = str(deepest.message)
    return text if len(text) <= 300 else text[:297] + "..."


# --- references -----------------------------------------------------------------------------


def _mappings(
    data: Any, skip: frozenset[str] = frozenset()
) -> Iterator[tuple[dict[str, Any], str]]:
    """Every mapping of the document with its JSON pointer (not below the keys in ``skip``)."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, at = stack.pop()
        if isinstance(node, dict):
            yield node, at
            children = ((k, v) for k, v in node.items() if k not in skip)
        elif isinstance(node, list):
            children = ((str(i), v) for i, v in enumerate(node))
        else:
            continue
        stack.extend((v, join_pointer(at, k)) for k, v in children if isinstance(v, dict | list))


def refs(data: Any) -> Iterator[tuple[str, str]]:
    """Every ``$ref`` string of the document with the pointer of the object holding it."""
    for node, at in _mappings(data):
        if isinstance(node.get("$ref"), str):
            yield at, node["$ref"]


def resolve_pointer(data: Any, ref: str) -> tuple[bool, Any]:
    """``(found, value)`` of a local reference ``#/a/b``."""
    if ref == "#":
        return True, data
    node = data
    for token in ref[2:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, None
    return True, node


def deref(document: Any, node: Any, *, keep_unresolved: bool = False) -> Any:
    """``node`` with its ``$ref`` chain followed (at most 32 hops); an unresolvable reference
    gives None, or the node itself with ``keep_unresolved``."""
    for _ in range(32):
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return node
        found, target = resolve_pointer(document, node["$ref"])
        if not found:
            return node if keep_unresolved else None
        node = target
    return node


def _anchors(data: Any) -> set[str]:
    """``$id``/``$anchor`` names of 3.1 schemas (a ``$ref`` may name them)."""
    return {
        node[key]
        for node, _ in _mappings(data)
        for key in ("$anchor", "$dynamicAnchor", "$id")
        if isinstance(node.get(key), str)
    }


def _refs_resolve(contract: Contract, sink: DiagnosticSink) -> bool:
    ok = True
    anchors: set[str] | None = None
    for at, ref in refs(contract.data):
        where = join_pointer(at, "$ref")
        if ref.startswith("#/") or ref == "#":
            found, _ = resolve_pointer(contract.data, ref)
            if found:
                continue
            sink.report(
                codes.OPENAPI_REF_UNRESOLVED,
                f"$ref {ref!r} points at nothing in this document",
                file=contract.file,
                pointer=where,
                hint="check the component name and its section (schemas, parameters, "
                "responses, ...)",
            )
        elif ref.startswith("#"):
            anchors = _anchors(contract.data) if anchors is None else anchors
            if ref[1:] in anchors:
                continue
            sink.report(
                codes.OPENAPI_REF_UNRESOLVED,
                f"$ref {ref!r} names no anchor of this document",
                file=contract.file,
                pointer=where,
            )
        else:
            anchors = _anchors(contract.data) if anchors is None else anchors
            if ref in anchors:
                continue  # a 3.1 schema's own $id
            sink.report(
                codes.OPENAPI_REF_EXTERNAL,
                f"$ref {ref!r} points outside this document",
                file=contract.file,
                pointer=where,
                hint="bundle the contract into one file first: "
                "`npx @redocly/cli bundle spec.yaml -o openapi.yaml`",
            )
        ok = False
    return ok


# --- what the service cannot honour ---------------------------------------------------------


def _check_patterns(contract: Contract, sink: DiagnosticSink) -> None:
    from autocoder.runtime.oas import python_pattern  # the runtime package imports httpx etc.

    for node, at in _mappings(contract.data, skip=frozenset({"example", "examples"})):
        pattern = node.get("pattern")
        if isinstance(pattern, str) and python_pattern(pattern) is None:
            sink.report(
                codes.OPENAPI_PATTERN_DROPPED,
                f"pattern {pattern!r} cannot be run by Python's `re`: the service does not "
                "enforce it",
                file=contract.file,
                pointer=join_pointer(at, "pattern"),
                hint="rewrite it without the unsupported feature to have it checked",
            )


_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_UNSERVED = {
    "headers": (
        "response headers",
        "the generated handlers answer without them (user logic in app/logic/ may set them)",
        "set them in the operation's method in app/logic/, or in a proxy in front",
    ),
    "callbacks": (
        "callbacks",
        "the service never calls them",
        "call the subscriber from the operation's method in app/logic/",
    ),
    "servers": (
        "servers for one path or operation",
        "the service serves every operation under the document's first server",
        "route those operations to another service in front of this one",
    ),
    "webhooks": (
        "webhooks",
        "the service never sends them",
        "send them from app/logic/, or model them as a webhook sink in architecture.yaml",
    ),
}


def _check_unserved(contract: Contract, sink: DiagnosticSink) -> None:
    """Parts of the contract the generated service does not carry out: one warning per kind,
    at its first place in the document, with how many places there are."""
    found: dict[str, list[str]] = {kind: [] for kind in _UNSERVED}
    if contract.data.get("webhooks"):
        found["webhooks"] = [join_pointer("/webhooks", str(k)) for k in contract.data["webhooks"]]
    paths = contract.data.get("paths") or {}
    for path, item in paths.items() if isinstance(paths, dict) else ():
        if not isinstance(item, dict):
            continue
        at_path = join_pointer("/paths", str(path))
        if item.get("servers"):
            found["servers"].append(join_pointer(at_path, "servers"))
        for method in _METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            at = join_pointer(at_path, method)
            if operation.get("servers"):
                found["servers"].append(join_pointer(at, "servers"))
            if operation.get("callbacks"):
                found["callbacks"].append(join_pointer(at, "callbacks"))
            responses = operation.get("responses") or {}
            for status, response in responses.items() if isinstance(responses, dict) else ():
                response = deref(contract.data, response)
                headers = response.get("headers") if isinstance(response, dict) else None
                if isinstance(headers, dict) and set(headers) - {"Content-Type", "content-type"}:
                    found["headers"].append(join_pointer(at, "responses", str(status), "headers"))
    for kind, places in found.items():
        if not places:
            continue
        what, effect, hint = _UNSERVED[kind]
        more = f" (and {len(places) - 1} more place(s))" if len(places) > 1 else ""
        sink.report(
            codes.OPENAPI_NOT_SERVED,
            f"the contract documents {what}{more}: {effect}",
            file=contract.file,
            pointer=places[0],
            hint=hint,
        )


_VERIFIABLE = {"apiKey", "http", "oauth2", "openIdConnect"}


def _check_security(contract: Contract, sink: DiagnosticSink) -> None:
    schemes = (contract.data.get("components") or {}).get("securitySchemes") or {}
    for name, scheme in sorted(schemes.items()):
        if not isinstance(scheme, dict) or "$ref" in scheme:
            continue
        kind = scheme.get("type")
        http_scheme = str(scheme.get("scheme", "")).lower()
        if kind not in _VERIFIABLE or (kind == "http" and http_scheme not in ("bearer", "basic")):
            what = f"http {http_scheme!r}" if kind == "http" else repr(kind)
            sink.report(
                codes.OPENAPI_SECURITY_UNVERIFIABLE,
                f"security scheme {name!r} ({what}) cannot be verified by the service: "
                "requests that need it are refused",
                file=contract.file,
                pointer=join_pointer("/components/securitySchemes", name),
                hint="use apiKey, http bearer/basic, oauth2 or openIdConnect, or terminate it "
                "in front of the service",
            )
