"""A realistic OpenAPI 3.0 document of any size, for speed tests of the OpenAPI front end.

``large_spec(1000, seed=7)`` has about 1,000 operations over resources of CRUD shape (list with
paging and filters, create, get, replace, patch, delete) plus action endpoints (POST
``/orders/{id}/cancel``), sharing components the way large public APIs do: an Error schema and
responses, paging, money, addresses, audit fields, enums, references between resources.
The same (operations, seed) always gives the same document.

    python tests/frontend/openapi/specs/generate_large.py 1000 --seed 7 > large.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from typing import Any

_NOUNS = (  # noqa: SIM905 - a word list reads better as text
    "account customer order invoice payment refund shipment parcel product variant price "
    "coupon cart review rating supplier warehouse stock transfer employee team project task "
    "comment attachment ticket incident alert device sensor reading firmware tenant user "
    "role permission session token webhook event subscription plan usage report dashboard "
    "widget campaign segment contact lead deal note meeting calendar booking room vehicle "
    "route driver trip fare station zone"
).split()
_ACTIONS = ("cancel", "approve", "archive", "restore", "publish", "retry", "assign", "close")
_FIELDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("name", {"type": "string", "minLength": 1, "maxLength": 120}),
    ("description", {"type": "string", "maxLength": 2000, "nullable": True}),
    ("code", {"type": "string", "pattern": "^[A-Z]{2,4}-[0-9]{3,6}$", "example": "ABC-1234"}),
    ("email", {"type": "string", "format": "email"}),
    ("website", {"type": "string", "format": "uri"}),
    ("quantity", {"type": "integer", "minimum": 0, "maximum": 100000}),
    ("priority", {"type": "integer", "minimum": 1, "maximum": 5, "default": 3}),
    ("weight", {"type": "number", "exclusiveMinimum": True, "minimum": 0}),
    ("ratio", {"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.01}),
    ("active", {"type": "boolean", "default": True}),
    ("startsOn", {"type": "string", "format": "date"}),
    ("labels", {"type": "object", "additionalProperties": {"type": "string"}}),
    ("tags", {"type": "array", "items": {"type": "string"}, "uniqueItems": True}),
    ("phone", {"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"}),
)


def large_spec(operations: int, seed: int) -> dict[str, Any]:
    """An OpenAPI 3.0.3 document with ``operations`` operations (exactly)."""
    rng = random.Random(seed)
    document: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": f"Large API ({operations} operations)", "version": "1.0.0"},
        "servers": [{"url": "https://api.example.com/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": {},
        "components": _shared(),
    }
    paths: dict[str, Any] = document["paths"]
    schemas: dict[str, Any] = document["components"]["schemas"]
    names: list[str] = []
    count, index = 0, 0
    while count < operations:
        noun = _NOUNS[index % len(_NOUNS)]
        name = noun if index < len(_NOUNS) else f"{noun}{index // len(_NOUNS) + 1}"
        index += 1
        schema_name = name[:1].upper() + name[1:]
        schemas[schema_name] = _resource_schema(rng, names)
        schemas[f"{schema_name}Page"] = _page_schema(schema_name)
        names.append(schema_name)
        base = f"/{name}s"
        ops = _crud(name, schema_name)
        actions = rng.sample(_ACTIONS, rng.randint(0, 3))
        for action in actions:
            ops.append(_action(name, schema_name, action))
        for path_suffix, method, operation in ops:
            if count >= operations:
                break
            item = paths.setdefault(base + path_suffix, {})
            if path_suffix.startswith("/{id}") and "parameters" not in item:
                item["parameters"] = [{"$ref": "#/components/parameters/Id"}]
            item[method] = operation
            count += 1
    return document


def _shared() -> dict[str, Any]:
    error_ref = {"$ref": "#/components/schemas/Error"}
    return {
        "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        "parameters": {
            "Id": {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
            "Limit": {
                "name": "limit",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
            },
            "Cursor": {"name": "cursor", "in": "query", "schema": {"type": "string"}},
        },
        "responses": {
            name: {
                "description": description,
                "content": {"application/json": {"schema": error_ref}},
            }
            for name, description in (
                ("BadRequest", "The request is not valid"),
                ("NotFound", "No such resource"),
                ("Conflict", "The resource changed meanwhile"),
                ("Unexpected", "Unexpected error"),
            )
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string", "enum": ["invalid", "not_found", "conflict"]},
                    "message": {"type": "string"},
                    "details": {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}},
                },
            },
            "Issue": {
                "type": "object",
                "required": ["field", "problem"],
                "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
            },
            "Money": {
                "type": "object",
                "required": ["amount", "currency"],
                "properties": {
                    "amount": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,2})?$"},
                    "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "example": "EUR"},
                },
            },
            "Address": {
                "type": "object",
                "required": ["line1", "city", "country"],
                "properties": {
                    "line1": {"type": "string"},
                    "line2": {"type": "string", "nullable": True},
                    "city": {"type": "string"},
                    "postcode": {"type": "string", "maxLength": 10},
                    "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
                },
            },
            "Audit": {
                "type": "object",
                "readOnly": True,
                "required": ["createdAt", "updatedAt"],
                "properties": {
                    "createdAt": {"type": "string", "format": "date-time"},
                    "updatedAt": {"type": "string", "format": "date-time"},
                    "createdBy": {"type": "string", "format": "uuid"},
                },
            },
            "Status": {"type": "string", "enum": ["draft", "active", "suspended", "closed"]},
        },
    }


def _resource_schema(rng: random.Random, earlier: list[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "id": {"type": "string", "format": "uuid", "readOnly": True},
        "status": {"$ref": "#/components/schemas/Status"},
    }
    required = ["id", "status"]
    for field, schema in rng.sample(_FIELDS, rng.randint(3, 8)):
        properties[field] = dict(schema)
        if rng.random() < 0.4:
            required.append(field)
    for shared in rng.sample(("Money", "Address", "Audit"), rng.randint(0, 2)):
        properties[shared.lower()] = {"$ref": f"#/components/schemas/{shared}"}
    if earlier and rng.random() < 0.5:
        other = rng.choice(earlier)
        properties[f"{other[:1].lower()}{other[1:]}Id"] = {"type": "string", "format": "uuid"}
        if rng.random() < 0.3:
            properties[f"{other[:1].lower()}{other[1:]}"] = {
                "allOf": [{"$ref": f"#/components/schemas/{other}"}],
                "nullable": True,
                "readOnly": True,
            }
    return {"type": "object", "required": required, "properties": properties}


def _page_schema(schema_name: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "nextCursor"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{schema_name}"}},
            "nextCursor": {"type": "string", "nullable": True},
        },
    }


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ok(description: str, schema_name: str, status: str = "200") -> dict[str, Any]:
    body = {"description": description, "content": _json(_ref(schema_name))}
    return {
        status: body,
        "400": {"$ref": "#/components/responses/BadRequest"},
        "default": {"$ref": "#/components/responses/Unexpected"},
    }


def _ref(schema_name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema_name}"}


def _crud(name: str, schema_name: str) -> list[tuple[str, str, dict[str, Any]]]:
    body = {"required": True, "content": _json(_ref(schema_name))}
    not_found = {"404": {"$ref": "#/components/responses/NotFound"}}
    return [
        (
            "",
            "get",
            {
                "operationId": f"list_{name}s",
                "parameters": [
                    {"$ref": "#/components/parameters/Limit"},
                    {"$ref": "#/components/parameters/Cursor"},
                    {"name": "status", "in": "query", "schema": _ref("Status")},
                ],
                "responses": _ok("A page", f"{schema_name}Page"),
            },
        ),
        (
            "",
            "post",
            {
                "operationId": f"create_{name}",
                "requestBody": body,
                "responses": _ok("Created", schema_name, "201"),
            },
        ),
        (
            "/{id}",
            "get",
            {"operationId": f"get_{name}", "responses": {**_ok("Found", schema_name), **not_found}},
        ),
        (
            "/{id}",
            "put",
            {
                "operationId": f"replace_{name}",
                "requestBody": body,
                "responses": {
                    **_ok("Replaced", schema_name),
                    **not_found,
                    "409": {"$ref": "#/components/responses/Conflict"},
                },
            },
        ),
        (
            "/{id}",
            "delete",
            {
                "operationId": f"delete_{name}",
                "responses": {"204": {"description": "Deleted"}, **not_found},
            },
        ),
    ]


def _action(name: str, schema_name: str, action: str) -> tuple[str, str, dict[str, Any]]:
    reason = {
        "type": "object",
        "properties": {"reason": {"type": "string", "maxLength": 500}},
    }
    return (
        f"/{{id}}/{action}",
        "post",
        {
            "operationId": f"{action}_{name}",
            "requestBody": {"required": False, "content": _json(reason)},
            "responses": {
                **_ok(f"{action} done", schema_name),
                "404": {"$ref": "#/components/responses/NotFound"},
                "409": {"$ref": "#/components/responses/Conflict"},
            },
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("operations", type=int)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    json.dump(large_spec(args.operations, args.seed), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
