"""Compare two OpenAPI documents as contracts: what a client can call and must send and
receive, not how the document is written.

``differences(expected, actual)`` lists, one line each, every operation missing on either
side and, for an operation both have, a different operationId, parameter set (name, location,
required, schema), request body (required, media types and their schemas), response set
(statuses, media types and their schemas) or security requirement. Schemas are compared after
normalization: ``$ref`` replaced by what it points at (a recursive reference by its target's
name), descriptive keywords (description, title, examples, externalDocs, xml, deprecated)
dropped, path parameter names ignored in paths (``/pets/{id}`` equals ``/pets/{petId}``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from autocoder.frontend.openapi.document import METHODS, deref, resolve_pointer

_DESCRIPTIVE = frozenset(
    {
        "description",
        "summary",
        "title",
        "example",
        "examples",
        "externalDocs",
        "xml",
        "deprecated",
        "$comment",
    }
)
_PARAM = re.compile(r"\{[^{}]*\}")


def normalize_schema(document: dict[str, Any], schema: Any, seen: tuple[str, ...] = ()) -> Any:
    """``schema`` with references inlined and descriptive keywords dropped."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in seen:
                return {"$recursive": ref.rsplit("/", 1)[-1]}
            found, target = resolve_pointer(document, ref)
            if found:
                siblings = {k: v for k, v in schema.items() if k != "$ref"}
                merged = normalize_schema(document, target, (*seen, ref))
                if siblings and isinstance(merged, dict):
                    merged = {**merged, **normalize_schema(document, siblings, seen)}
                return merged
        return {
            key: normalize_schema(document, value, seen)
            for key, value in sorted(schema.items())
            if key not in _DESCRIPTIVE
        }
    if isinstance(schema, list):
        return [normalize_schema(document, item, seen) for item in schema]
    return schema


def _content(document: dict[str, Any], holder: Any) -> dict[str, Any]:
    holder = deref(document, holder, keep_unresolved=True)
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict):
        return {}
    return {
        str(media).split(";")[0].strip().lower(): normalize_schema(
            document, (item or {}).get("schema") if isinstance(item, dict) else None
        )
        for media, item in content.items()
    }


def operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """(METHOD, path shape) -> the operation as a client sees it."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path, raw_item in (document.get("paths") or {}).items():
        item = deref(document, raw_item, keep_unresolved=True)
        if not isinstance(item, dict):
            continue
        shared = item.get("parameters") or []
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            params: dict[tuple[str, str], Any] = {}
            for raw in [*shared, *(op.get("parameters") or [])]:
                param = deref(document, raw, keep_unresolved=True)
                if not isinstance(param, dict):
                    continue
                name = str(param.get("name"))
                where = str(param.get("in"))
                params[(where, "" if where == "path" else name)] = {
                    "required": bool(param.get("required", where == "path")),
                    "schema": normalize_schema(document, param.get("schema")),
                    "content": _content(document, param),
                }
            body = deref(document, op.get("requestBody"), keep_unresolved=True)
            responses = {
                str(status): _content(document, response)
                for status, response in (op.get("responses") or {}).items()
            }
            out[(method.upper(), _PARAM.sub("{}", str(path)))] = {
                "operationId": op.get("operationId"),
                "parameters": {f"{w}:{n}": v for (w, n), v in sorted(params.items())},
                "requestBody": None
                if not isinstance(body, dict)
                else {"required": bool(body.get("required")), "content": _content(document, body)},
                "responses": responses,
                "security": op.get("security", document.get("security")),
            }
    return out


def differences(expected: dict[str, Any], actual: dict[str, Any]) -> list[str]:
    """Every contract difference between two documents (empty when they are equivalent)."""
    want, got = operations(expected), operations(actual)
    found = []
    for key in sorted(want.keys() - got.keys()):
        found.append(f"{key[0]} {key[1]}: missing")
    for key in sorted(got.keys() - want.keys()):
        found.append(f"{key[0]} {key[1]}: not in the expected contract")
    for key in sorted(want.keys() & got.keys()):
        for part in ("operationId", "parameters", "requestBody", "responses", "security"):
            if want[key][part] != got[key][part]:
                found.append(
                    f"{key[0]} {key[1]}: {part} differs: expected "
                    f"{_short(want[key][part])}, got {_short(got[key][part])}"
                )
    return found


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 160 else text[:157] + "..."
