"""The contract runtime: a service that serves an OpenAPI document exactly (matching, parameter
styles, coercion, bodies, security, replies and documented error bodies)."""

from __future__ import annotations

import base64
import copy
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI

from autocoder.runtime.contract import (
    Call,
    Contract,
    ContractError,
    Credentials,
    Handler,
    Reply,
    contract_app,
    serve_document,
)
from autocoder.runtime.http import ApiKeys, ErrorResponse, JwtVerifier, health_router, install
from autocoder.runtime.metrics import Metrics
from autocoder.runtime.oas import pointer
from autocoder.runtime.store import NotFound

pytestmark = pytest.mark.anyio

SECRET = "a-test-secret-that-is-long-enough-for-hs256"
OK = {"200": {"description": "ok"}}


def document(paths: dict[str, Any], version: str = "3.0.3", **extra: Any) -> dict[str, Any]:
    return {"openapi": version, "info": {"title": "t", "version": "1"}, "paths": paths, **extra}


def operation(*parameters: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"parameters": list(parameters), "responses": OK, **fields}


def parameter(name: str, where: str, schema: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": schema, **fields}


async def echo(call: Call) -> Reply:
    """Answers with everything the handler was given."""
    body = call.body
    if isinstance(body, bytes):
        body = {"bytes": body.decode("latin-1")}
    files = {k: [f.filename, f.content_type, f.data.decode()] for k, f in call.files.items()}
    return Reply(
        200,
        {
            "operation": call.operation.key,
            "path": call.path,
            "query": call.query,
            "headers": call.headers,
            "cookies": call.cookies,
            "body": body,
            "media_type": call.media_type,
            "files": files,
            "principal": call.principal,
        },
    )


def make_app(
    doc: dict[str, Any],
    handlers: dict[str, Handler] | None = None,
    *,
    examples: dict[str, Any] | None = None,
    keys: tuple[str, ...] = (),
    secret: str | None = None,
    validate_responses: bool = True,
) -> tuple[FastAPI, Metrics]:
    metrics = Metrics("test")
    app = FastAPI()
    install(app, metrics=metrics)
    app.include_router(health_router({}, metrics))
    contract = Contract(doc, examples=examples)
    if handlers is None:
        handlers = dict.fromkeys(contract.operations, echo)
    credentials = Credentials(ApiKeys(keys), JwtVerifier(secret=secret))
    route = contract_app(
        contract, handlers, credentials=credentials, validate_responses=validate_responses
    )
    app.router.routes.append(route)
    serve_document(app, doc)
    return app, metrics


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def call(doc: dict[str, Any], method: str, url: str, **options: Any) -> httpx.Response:
    app_options = {k: options.pop(k) for k in ("examples", "keys", "secret") if k in options}
    app, _ = make_app(doc, **app_options)
    async with client(app) as c:
        return await c.request(method, url, **options)


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    ErrorResponse.model_validate(body)
    assert body["error"]["status"] == response.status_code
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    error: dict[str, Any] = body["error"]
    return error


def token(**claims: Any) -> str:
    return jwt.encode({"sub": "user-1", "exp": int(time.time()) + 300, **claims}, SECRET, "HS256")


# --------------------------------------------------------------------------------- matching

ODD = document(
    {
        "/pets/{id}": {"get": operation(operationId="byId")},
        "/pets/mine": {"get": operation(operationId="mine")},
        "/{kind}/{id}": {"get": operation(operationId="anything")},
        "/{kind}/special": {"get": operation(operationId="special")},
        "/$count": {"get": operation(operationId="count")},
        "/files/{name}.{ext}": {"get": operation(operationId="file")},
        "/café/{id}": {"get": operation(operationId="cafe")},
        "/v1/{version_format}/items": {"get": operation(operationId="versioned")},
        "/a%20b": {"get": operation(operationId="spaced")},
        "/head": {"get": operation(operationId="headGet"), "head": operation()},
    }
)


@pytest.mark.parametrize(
    ("url", "key", "values"),
    [
        ("/pets/mine", "mine", {}),
        ("/pets/7", "byId", {"id": "7"}),
        ("/cats/special", "special", {"kind": "cats"}),
        ("/cats/7", "anything", {"kind": "cats", "id": "7"}),
        ("/$count", "count", {}),
        ("/files/report.tar.gz", "file", {"name": "report.tar", "ext": "gz"}),
        ("/files/a%2Fb.txt", "file", {"name": "a/b", "ext": "txt"}),
        ("/café/1", "cafe", {"id": "1"}),
        ("/caf%C3%A9/2", "cafe", {"id": "2"}),
        ("/v1/json/items", "versioned", {"version_format": "json"}),
        ("/a%20b", "spaced", {}),
    ],
)
async def test_paths_match_concrete_first_then_by_literal_characters(
    url: str, key: str, values: dict[str, str]
) -> None:
    response = await call(ODD, "GET", url)
    assert response.status_code == 200, response.text
    assert response.json()["operation"] == key
    assert response.json()["path"] == values
    assert Contract(ODD).match("GET", url) == (Contract(ODD).operations[key], values)


async def test_unknown_paths_are_404_and_other_methods_405_with_allow() -> None:
    app, _ = make_app(ODD)
    async with client(app) as c:
        unknown = await c.get("/nowhere/at/all")
        trailing = await c.get("/pets/mine/")
        wrong = await c.post("/pets/7")
        head_of_get = await c.head("/pets/7")
        declared_head = await c.head("/head")
        health = await c.get("/healthz")
        health_post = await c.post("/healthz")
    assert unknown.status_code == 404 and error_of(unknown)["code"] == "not_found"
    assert trailing.status_code == 404
    assert wrong.status_code == 405 and error_of(wrong)["code"] == "method_not_allowed"
    assert wrong.headers["allow"] == "GET"
    assert head_of_get.status_code == 405 and head_of_get.headers["allow"] == "GET"
    assert declared_head.status_code == 200 and declared_head.content == b""
    assert health.status_code == 200
    assert health_post.status_code == 405 and health_post.headers["allow"] == "GET"
    assert Contract(ODD).allowed("/head") == ["GET", "HEAD"]
    assert Contract(ODD).allowed("/nowhere") == []
    assert Contract(ODD).match("POST", "/pets/7") is None


async def test_paths_live_below_the_first_servers_base_path() -> None:
    doc = document(
        {"/pets": {"get": operation(operationId="list")}},
        servers=[
            {
                "url": "https://{host}.example.com/{version}",
                "variables": {"host": {"default": "api"}, "version": {"default": "v2"}},
            }
        ],
    )
    app, _ = make_app(doc)
    async with client(app) as c:
        below = await c.get("/v2/pets")
        bare = await c.get("/pets")
    assert below.status_code == 200 and below.json()["operation"] == "list"
    assert bare.status_code == 404
    assert Contract(doc).base_path == "/v2"


async def test_one_path_split_over_two_templates_serves_both_methods() -> None:
    doc = document(
        {
            "/items/{id}": {
                "get": operation(
                    parameter("id", "path", {"type": "string"}, required=True), operationId="read"
                )
            },
            "/items/{item}": {
                "delete": operation(
                    parameter("item", "path", {"type": "string"}, required=True), operationId="drop"
                )
            },
        }
    )
    app, _ = make_app(doc)
    async with client(app) as c:
        read = await c.get("/items/a")
        drop = await c.delete("/items/b")
    assert read.json()["operation"] == "read" and read.json()["path"] == {"id": "a"}
    assert drop.json()["operation"] == "drop" and drop.json()["path"] == {"item": "b"}
    assert Contract(doc).match("DELETE", "/items/b") == (
        Contract(doc).operations["drop"],
        {"item": "b"},
    )


def test_operations_merge_path_item_parameters_and_resolve_refs() -> None:
    doc = document(
        {
            "/pets/{id}": {
                "parameters": [
                    {"$ref": "#/components/parameters/Id"},
                    parameter("verbose", "query", {"type": "boolean"}),
                    parameter("X-Trace", "header", {"type": "string"}),
                ],
                "get": operation(
                    parameter("verbose", "query", {"type": "integer"}, style="form"),
                    parameter("x-trace", "header", {"type": "integer"}),
                    responses={"404": {"$ref": "#/components/responses/NotFound"}},
                    requestBody={"$ref": "#/components/requestBodies/Pet"},
                    security=[{"key": []}, {}],
                ),
            }
        },
        components={
            "parameters": {"Id": parameter("id", "path", {"type": "integer"}, required=True)},
            "responses": {
                "NotFound": {
                    "description": "no",
                    "content": {"application/json": {"schema": {"type": "object"}}},
                }
            },
            "requestBodies": {
                "Pet": {"required": True, "content": {"application/json": {}, "text/plain": {}}}
            },
        },
        security=[{"other": ["a"]}],
    )
    op = Contract(doc).operations["GET /pets/{id}"]
    assert [(p.name, p.location, p.schema) for p in op.parameters] == [
        ("id", "path", "#/components/parameters/Id/schema"),
        ("verbose", "query", "#/paths/~1pets~1{id}/get/parameters/0/schema"),
        ("x-trace", "header", "#/paths/~1pets~1{id}/get/parameters/1/schema"),
    ]
    assert op.parameters[0].style == "simple" and op.parameters[0].explode is False
    assert op.parameters[1].style == "form" and op.parameters[1].explode is True
    assert op.pointer == "#/paths/~1pets~1{id}/get"
    assert op.responses == {
        "404": {
            "application/json": "#/components/responses/NotFound/content/application~1json/schema"
        }
    }
    assert op.body == {"application/json": "", "text/plain": ""} and op.body_required
    assert op.security == ({"key": ()}, {})


# ------------------------------------------------------------------------------- parameters

ARRAY = {"type": "array", "items": {"type": "integer"}}
OBJECT = {"type": "object", "properties": {"role": {"type": "string"}, "n": {"type": "integer"}}}
ROLE = {"role": "admin", "n": 3}


def one_parameter(where: str, schema: dict[str, Any], **fields: Any) -> dict[str, Any]:
    template = "/items/{id}" if where == "path" else "/items"
    spec = parameter("id", where, schema, required=where == "path", **fields)
    return document({template: {"get": operation(spec)}})


@pytest.mark.parametrize(
    ("style", "explode", "schema", "raw", "expected"),
    [
        ("simple", False, {"type": "integer"}, "5", 5),
        ("simple", False, ARRAY, "3,4,5", [3, 4, 5]),
        ("simple", False, OBJECT, "role,admin,n,3", ROLE),
        ("simple", True, OBJECT, "role=admin,n=3", ROLE),
        ("label", False, {"type": "integer"}, ".5", 5),
        ("label", False, ARRAY, ".3,4", [3, 4]),
        ("label", True, ARRAY, ".3.4", [3, 4]),
        ("label", False, OBJECT, ".role,admin,n,3", ROLE),
        ("label", True, OBJECT, ".role=admin.n=3", ROLE),
        ("matrix", False, {"type": "integer"}, ";id=5", 5),
        ("matrix", False, ARRAY, ";id=3,4", [3, 4]),
        ("matrix", True, ARRAY, ";id=3;id=4", [3, 4]),
        ("matrix", False, OBJECT, ";id=role,admin,n,3", ROLE),
        ("matrix", True, OBJECT, ";role=admin;n=3", ROLE),
    ],
)
async def test_path_parameter_styles(
    style: str, explode: bool, schema: dict[str, Any], raw: str, expected: Any
) -> None:
    doc = one_parameter("path", schema, style=style, explode=explode)
    response = await call(doc, "GET", f"/items/{raw}")
    assert response.status_code == 200, response.text
    assert response.json()["path"] == {"id": expected}


@pytest.mark.parametrize(
    ("style", "raw"), [("label", "5"), ("matrix", "5"), ("matrix", ";other=5")]
)
async def test_a_path_value_not_in_its_style_is_a_400(style: str, raw: str) -> None:
    response = await call(
        one_parameter("path", {"type": "integer"}, style=style), "GET", f"/items/{raw}"
    )
    assert response.status_code == 400
    assert error_of(response)["details"][0]["field"] == "path.id"


@pytest.mark.parametrize(
    ("fields", "schema", "query", "expected"),
    [
        ({}, {"type": "integer"}, "id=5", 5),
        ({}, ARRAY, "id=3&id=4", [3, 4]),
        ({"explode": False}, ARRAY, "id=3,4", [3, 4]),
        ({}, OBJECT, "role=admin&n=3&other=1", ROLE),
        ({"explode": False}, OBJECT, "id=role,admin,n,3", ROLE),
        ({"style": "spaceDelimited", "explode": False}, ARRAY, "id=3%204", [3, 4]),
        ({"style": "pipeDelimited", "explode": False}, ARRAY, "id=3|4", [3, 4]),
        ({"style": "pipeDelimited", "explode": True}, ARRAY, "id=3&id=4", [3, 4]),
        ({"style": "deepObject", "explode": True}, OBJECT, "id[role]=admin&id[n]=3", ROLE),
    ],
)
async def test_query_parameter_styles(
    fields: dict[str, Any], schema: dict[str, Any], query: str, expected: Any
) -> None:
    response = await call(one_parameter("query", schema, **fields), "GET", f"/items?{query}")
    assert response.status_code == 200, response.text
    assert response.json()["query"] == {"id": expected}


async def test_an_exploded_query_object_without_properties_takes_the_other_keys() -> None:
    doc = document(
        {
            "/items": {
                "get": operation(
                    parameter("limit", "query", {"type": "integer"}),
                    parameter(
                        "filter",
                        "query",
                        {"type": "object", "additionalProperties": {"type": "integer"}},
                    ),
                )
            }
        }
    )
    response = await call(doc, "GET", "/items?limit=1&a=2&b=3")
    assert response.json()["query"] == {"limit": 1, "filter": {"a": 2, "b": 3}}


@pytest.mark.parametrize(
    ("explode", "schema", "value", "expected"),
    [
        (False, {"type": "integer"}, "5", 5),
        (False, ARRAY, "3, 4", [3, 4]),
        (False, OBJECT, "role,admin,n,3", ROLE),
        (True, OBJECT, "role=admin, n=3", ROLE),
    ],
)
async def test_header_parameters_are_simple(
    explode: bool, schema: dict[str, Any], value: str, expected: Any
) -> None:
    doc = document(
        {"/items": {"get": operation(parameter("X-Id", "header", schema, explode=explode))}}
    )
    response = await call(doc, "GET", "/items", headers={"x-id": value})
    assert response.status_code == 200, response.text
    assert response.json()["headers"] == {"X-Id": expected}


@pytest.mark.parametrize(
    ("explode", "schema", "cookie", "expected"),
    [
        (True, {"type": "integer"}, "id=5", 5),
        (False, ARRAY, "id=3,4", [3, 4]),
        (True, ARRAY, "id=3; id=4", [3, 4]),
        (False, OBJECT, "id=role,admin,n,3", ROLE),
        (True, OBJECT, "role=admin; n=3", ROLE),
    ],
)
async def test_cookie_parameters_are_form(
    explode: bool, schema: dict[str, Any], cookie: str, expected: Any
) -> None:
    doc = one_parameter("cookie", schema, explode=explode)
    response = await call(doc, "GET", "/items", headers={"cookie": cookie})
    assert response.status_code == 200, response.text
    assert response.json()["cookies"] == {"id": expected}


async def test_content_encoded_parameters_are_json_decoded() -> None:
    schema = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}}}
    spec = {"name": "filter", "in": "query", "content": {"application/json": {"schema": schema}}}
    header = {"name": "X-Meta", "in": "header", "content": {"application/json": {}}}
    doc = document({"/items": {"get": operation(spec, header)}})
    good = await call(
        doc, "GET", "/items", params={"filter": '{"a": 1}'}, headers={"X-Meta": '{"b": "x, y"}'}
    )
    not_json = await call(doc, "GET", "/items", params={"filter": "{a"})
    invalid = await call(doc, "GET", "/items", params={"filter": '{"a": "x"}'})
    assert good.json()["query"] == {"filter": {"a": 1}}
    assert good.json()["headers"] == {"X-Meta": {"b": "x, y"}}
    assert not_json.status_code == 400
    assert error_of(not_json)["details"][0]["field"] == "query.filter"
    assert invalid.status_code == 400
    assert error_of(invalid)["details"][0]["field"] == "query.filter.a"


@pytest.mark.parametrize(
    ("schema", "raw", "expected"),
    [
        ({"oneOf": [{"type": "integer"}, {"type": "boolean"}, {"type": "string"}]}, "5", 5),
        ({"oneOf": [{"type": "integer"}, {"type": "boolean"}, {"type": "string"}]}, "true", True),
        ({"oneOf": [{"type": "integer"}, {"type": "boolean"}, {"type": "string"}]}, "abc", "abc"),
        ({"anyOf": [{"type": "integer", "minimum": 10}, {"type": "string"}]}, "5", "5"),
        ({"type": "number"}, "1.5", 1.5),
        ({"type": "number"}, "2", 2),
        ({"type": "boolean"}, "false", False),
        ({"type": "integer", "nullable": True}, "", None),
        ({"enum": [1, 2, "three"]}, "2", 2),
        ({}, "untyped", "untyped"),
        ({"$ref": "#/components/schemas/Count"}, "4", 4),
    ],
)
async def test_parameters_are_coerced_by_their_schema(
    schema: dict[str, Any], raw: str, expected: Any
) -> None:
    doc = one_parameter("query", schema)
    doc["components"] = {"schemas": {"Count": {"type": "integer"}}}
    response = await call(doc, "GET", "/items", params={"id": raw})
    assert response.status_code == 200, response.text
    assert response.json()["query"] == {"id": expected}


async def test_type_lists_of_openapi_31_are_coerced_branch_by_branch() -> None:
    doc = one_parameter("query", {"type": ["integer", "null"]})
    doc["openapi"] = "3.1.0"
    app, _ = make_app(doc)
    async with client(app) as c:
        number = await c.get("/items", params={"id": "7"})
        empty = await c.get("/items", params={"id": ""})
        text = await c.get("/items", params={"id": "x"})
    assert number.json()["query"] == {"id": 7}
    assert empty.json()["query"] == {"id": None}
    assert text.status_code == 400


async def test_defaults_apply_to_absent_parameters() -> None:
    doc = document(
        {
            "/items": {
                "get": operation(
                    parameter("limit", "query", {"type": "integer", "default": 20}),
                    parameter("sort", "query", {"type": "string"}),
                )
            }
        }
    )
    response = await call(doc, "GET", "/items")
    assert response.json()["query"] == {"limit": 20}


async def test_missing_and_invalid_parameters_are_a_400_with_details() -> None:
    doc = document(
        {
            "/items/{id}": {
                "get": operation(
                    parameter("id", "path", {"type": "integer"}, required=True),
                    parameter("limit", "query", {"type": "integer", "maximum": 100}, required=True),
                    parameter("X-Tenant", "header", {"type": "string"}, required=True),
                )
            }
        }
    )
    response = await call(doc, "GET", "/items/x?limit=500")
    error = error_of(response)
    assert response.status_code == 400 and error["code"] == "validation_error"
    fields = {d["field"]: d["message"] for d in error["details"]}
    assert set(fields) == {"path.id", "query.limit", "header.X-Tenant"}
    assert "not of type 'integer'" in fields["path.id"]
    assert "greater than the maximum" in fields["query.limit"]
    assert "required" in fields["header.X-Tenant"]


async def test_validation_errors_are_422_when_only_422_is_documented() -> None:
    responses = {"200": {"description": "ok"}, "422": {"description": "bad"}}
    spec = parameter("limit", "query", {"type": "integer"}, required=True)
    doc = document({"/items": {"get": {"parameters": [spec], "responses": responses}}})
    both = document(
        {
            "/items": {
                "get": {
                    "parameters": [spec],
                    "responses": {**responses, "400": {"description": "x"}},
                }
            }
        }
    )
    assert (await call(doc, "GET", "/items")).status_code == 422
    assert (await call(both, "GET", "/items")).status_code == 400


# ----------------------------------------------------------------------------------- bodies

PET = {
    "type": "object",
    "required": ["id", "name"],
    "properties": {
        "id": {"type": "integer", "readOnly": True},
        "name": {"type": "string"},
        "tag": {"type": "string", "nullable": True},
        "age": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


def body_document(
    content: dict[str, Any], *, required: bool = True, version: str = "3.0.3"
) -> dict[str, Any]:
    post = {"requestBody": {"required": required, "content": content}, "responses": OK}
    return document({"/pets": {"post": post}}, version)


async def test_json_bodies_are_parsed_and_validated() -> None:
    doc = body_document({"application/json": {"schema": PET}})
    app, _ = make_app(doc)
    async with client(app) as c:
        good = await c.post("/pets", json={"name": "Rex", "tag": None})
        charset = await c.post(
            "/pets",
            content=b'{"name": "R\xc3\xa9x"}',
            headers={"content-type": "application/json; charset=utf-8"},
        )
        invalid = await c.post("/pets", json={"name": 3, "tags": ["a", 1]})
        not_json = await c.post(
            "/pets", content=b"{name", headers={"content-type": "application/json"}
        )
        nan = await c.post(
            "/pets",
            content=b'{"name": "x", "age": NaN}',
            headers={"content-type": "application/json"},
        )
        missing = await c.post("/pets")
        unsupported = await c.post("/pets", content=b"x", headers={"content-type": "text/plain"})
    assert good.status_code == 200, good.text
    assert good.json()["body"] == {"name": "Rex", "tag": None}
    assert good.json()["media_type"] == "application/json"
    assert charset.json()["body"] == {"name": "Réx"}
    assert invalid.status_code == 400
    assert {d["field"] for d in error_of(invalid)["details"]} == {"body.name", "body.tags.1"}
    assert not_json.status_code == 400 and nan.status_code == 400
    for response in (not_json, nan):
        [detail] = error_of(response)["details"]
        assert detail["field"] == "body"
        assert detail["message"].startswith("the body is not valid JSON")
    assert missing.status_code == 400
    assert error_of(missing)["details"] == [
        {"field": "body", "message": "the request body is required"}
    ]
    assert unsupported.status_code == 415
    assert error_of(unsupported)["code"] == "unsupported_media_type"


async def test_openapi_31_type_lists_and_nullable_in_bodies() -> None:
    schema = {"type": "object", "properties": {"tag": {"type": ["string", "null"]}}}
    doc = body_document({"application/json": {"schema": schema}}, version="3.1.0")
    app, _ = make_app(doc)
    async with client(app) as c:
        null = await c.post("/pets", json={"tag": None})
        number = await c.post("/pets", json={"tag": 1})
    assert null.status_code == 200 and number.status_code == 400


async def test_an_optional_body_may_be_missing_and_an_undeclared_body_is_ignored() -> None:
    doc = body_document({"application/json": {"schema": PET}}, required=False)
    doc["paths"]["/other"] = {"post": operation()}
    app, _ = make_app(doc)
    async with client(app) as c:
        missing = await c.post("/pets")
        undeclared = await c.post("/other", json={"anything": 1})
    assert missing.status_code == 200 and missing.json()["body"] is None
    assert undeclared.status_code == 200 and undeclared.json()["body"] is None


async def test_media_types_match_exactly_then_by_range() -> None:
    doc = body_document(
        {
            "application/merge-patch+json": {"schema": {"type": "object"}},
            "text/*": {"schema": {"type": "string", "maxLength": 5}},
            "*/*": {"schema": {"type": "string", "format": "binary"}},
        }
    )
    app, _ = make_app(doc)
    async with client(app) as c:
        patch = await c.post(
            "/pets", content=b'{"a": 1}', headers={"content-type": "application/merge-patch+json"}
        )
        csv = await c.post("/pets", content=b"a,b", headers={"content-type": "text/csv"})
        long_text = await c.post(
            "/pets", content=b"abcdefgh", headers={"content-type": "text/plain"}
        )
        octets = await c.post("/pets", content=b"\x00\x01", headers={"content-type": "image/png"})
    assert patch.json()["body"] == {"a": 1}
    assert patch.json()["media_type"] == "application/merge-patch+json"
    assert csv.json()["body"] == "a,b" and csv.json()["media_type"] == "text/*"
    assert long_text.status_code == 400
    assert octets.json()["body"] == {"bytes": "\x00\x01"} and octets.json()["media_type"] == "*/*"


async def test_octet_stream_bodies_are_bytes() -> None:
    doc = body_document(
        {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    )
    response = await call(
        doc,
        "POST",
        "/pets",
        content=b"\xff\xfe",
        headers={"content-type": "application/octet-stream"},
    )
    assert response.json()["body"] == {"bytes": "\xff\xfe"}


async def test_form_bodies_are_coerced_by_the_schema() -> None:
    doc = body_document({"application/x-www-form-urlencoded": {"schema": PET}})
    app, _ = make_app(doc)
    async with client(app) as c:
        good = await c.post("/pets", data={"name": "Rex", "age": "3", "tags": ["a", "b"]})
        one_tag = await c.post("/pets", data={"name": "Rex", "tags": "a"})
        bad = await c.post("/pets", data={"name": "Rex", "age": "old"})
    assert good.json()["body"] == {"name": "Rex", "age": 3, "tags": ["a", "b"]}
    assert one_tag.json()["body"] == {"name": "Rex", "tags": ["a"]}
    assert bad.status_code == 400 and error_of(bad)["details"][0]["field"] == "body.age"


async def test_multipart_bodies_carry_files_and_json_fields() -> None:
    schema = {
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "string", "format": "binary"},
            "meta": {"type": "object", "properties": {"k": {"type": "integer"}}},
            "count": {"type": "integer"},
        },
    }
    doc = body_document({"multipart/form-data": {"schema": schema}})
    app, _ = make_app(doc)
    async with client(app) as c:
        good = await c.post(
            "/pets",
            files={"file": ("a.txt", b"hello", "text/plain")},
            data={"meta": '{"k": 1}', "count": "2"},
        )
        no_file = await c.post("/pets", files={"other": ("b.txt", b"x")}, data={"count": "2"})
    assert good.status_code == 200, good.text
    assert good.json()["body"] == {"file": "a.txt", "meta": {"k": 1}, "count": 2}
    assert good.json()["files"] == {"file": ["a.txt", "text/plain", "hello"]}
    assert no_file.status_code == 400
    assert "'file' is a required property" in error_of(no_file)["details"][0]["message"]


async def test_read_only_properties_are_not_required_in_requests_but_are_in_replies() -> None:
    doc = body_document({"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}})
    doc["paths"]["/pets"]["post"]["responses"] = {
        "201": {
            "description": "made",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
        }
    }
    doc["components"] = {"schemas": {"Pet": PET}}

    async def create(call: Call) -> Reply:
        return Reply(201, call.body)

    app, _ = make_app(doc, {"POST /pets": create})
    async with client(app) as c:
        response = await c.post("/pets", json={"name": "Rex"})
    assert response.status_code == 500
    assert "'id' is a required property" in error_of(response)["message"]


# --------------------------------------------------------------------------------- security

SCHEMES = {
    "header": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "query": {"type": "apiKey", "in": "query", "name": "api_key"},
    "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    "basic": {"type": "http", "scheme": "basic"},
    "oauth": {"type": "oauth2", "flows": {"clientCredentials": {"tokenUrl": "/t", "scopes": {}}}},
    "oidc": {"type": "openIdConnect", "openIdConnectUrl": "https://id.example/.well-known"},
    "mtls": {"type": "mutualTLS"},
}


def secured(*alternatives: dict[str, list[str]], top: list[Any] | None = None) -> dict[str, Any]:
    get = operation(security=list(alternatives)) if alternatives or top is None else operation()
    extra: dict[str, Any] = {"components": {"securitySchemes": SCHEMES}}
    if top is not None:
        extra["security"] = top
    return document({"/me": {"get": get}, "/open": {"get": operation(security=[])}}, **extra)


@pytest.mark.parametrize(
    ("scheme", "good", "wrong", "challenge"),
    [
        (
            "header",
            {"headers": {"X-API-Key": "k1"}},
            {"headers": {"X-API-Key": "k"}},
            'ApiKey header="X-API-Key"',
        ),
        (
            "query",
            {"params": {"api_key": "k2"}},
            {"params": {"api_key": "k"}},
            'ApiKey query="api_key"',
        ),
        (
            "cookie",
            {"headers": {"cookie": "session=k1"}},
            {"headers": {"cookie": "session=x"}},
            'ApiKey cookie="session"',
        ),
    ],
)
async def test_api_keys_in_header_query_and_cookie(
    scheme: str, good: dict[str, Any], wrong: dict[str, Any], challenge: str
) -> None:
    app, _ = make_app(secured({scheme: []}), keys=("k1", "k2"))
    async with client(app) as c:
        accepted = await c.get("/me", **good)
        refused = await c.get("/me", **wrong)
        missing = await c.get("/me")
        public = await c.get("/open")
    assert accepted.status_code == 200 and accepted.json()["principal"] == {"scheme": scheme}
    for response in (refused, missing):
        assert response.status_code == 401 and error_of(response)["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == challenge
    assert "missing" in error_of(missing)["message"]
    assert public.status_code == 200


async def test_bearer_jwts_are_verified() -> None:
    app, _ = make_app(secured({"bearer": []}), secret=SECRET)
    expired = token(exp=int(time.time()) - 60)
    async with client(app) as c:
        good = await c.get("/me", headers={"Authorization": f"Bearer {token(role='admin')}"})
        old = await c.get("/me", headers={"Authorization": f"Bearer {expired}"})
        garbage = await c.get("/me", headers={"Authorization": "Bearer nonsense"})
        missing = await c.get("/me")
    assert good.status_code == 200
    principal = good.json()["principal"]
    assert principal["scheme"] == "bearer" and principal["sub"] == "user-1"
    assert principal["role"] == "admin"
    for response in (old, garbage):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"


async def test_basic_credentials_are_api_keys_of_the_form_user_password() -> None:
    app, _ = make_app(secured({"basic": []}), keys=("ann:s3cret",))

    def basic(pair: str) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}

    async with client(app) as c:
        good = await c.get("/me", headers=basic("ann:s3cret"))
        wrong = await c.get("/me", headers=basic("ann:guess"))
        malformed = await c.get("/me", headers={"Authorization": "Basic ***"})
        missing = await c.get("/me")
    assert good.status_code == 200
    assert good.json()["principal"] == {"scheme": "basic", "username": "ann"}
    assert wrong.status_code == malformed.status_code == missing.status_code == 401
    assert missing.headers["www-authenticate"] == 'Basic realm="api"'


@pytest.mark.parametrize("scheme", ["oauth", "oidc"])
async def test_oauth2_and_openid_scopes_must_all_be_granted(scheme: str) -> None:
    app, _ = make_app(secured({scheme: ["pets:read", "pets:write"]}), secret=SECRET)

    async def get(bearer: str) -> httpx.Response:
        async with client(app) as c:
            return await c.get("/me", headers={"Authorization": f"Bearer {bearer}"})

    both = await get(token(scope="pets:read pets:write other"))
    as_list = await get(token(scp=["pets:write", "pets:read"]))
    unscoped = await get(token())
    lacking = await get(token(scope="pets:read"))
    assert both.status_code == as_list.status_code == unscoped.status_code == 200
    assert lacking.status_code == 403
    assert error_of(lacking)["code"] == "insufficient_scope"
    assert "pets:write" in error_of(lacking)["message"]


async def test_alternatives_and_the_anonymous_alternative() -> None:
    app, _ = make_app(secured({"header": []}, {"bearer": []}, {}), keys=("k1",), secret=SECRET)
    strict, _ = make_app(secured({"header": [], "bearer": []}), keys=("k1",), secret=SECRET)
    bearer = {"Authorization": f"Bearer {token()}"}
    async with client(app) as c:
        anonymous = await c.get("/me")
        by_key = await c.get("/me", headers={"X-API-Key": "k1"})
        by_token = await c.get("/me", headers=bearer)
    async with client(strict) as c:
        key_only = await c.get("/me", headers={"X-API-Key": "k1"})
        both = await c.get("/me", headers={"X-API-Key": "k1", **bearer})
    assert anonymous.status_code == 200 and anonymous.json()["principal"] == {}
    assert by_key.json()["principal"] == {"scheme": "header"}
    assert by_token.json()["principal"]["scheme"] == "bearer"
    assert key_only.status_code == 401
    assert key_only.headers["www-authenticate"] == 'ApiKey header="X-API-Key", Bearer'
    assert both.status_code == 200 and both.json()["principal"]["sub"] == "user-1"


async def test_document_security_applies_unless_the_operation_overrides_it() -> None:
    doc = secured(top=[{"header": []}])
    app, _ = make_app(doc, keys=("k1",))
    async with client(app) as c:
        inherited = await c.get("/me")
        public = await c.get("/open")
    assert inherited.status_code == 401 and public.status_code == 200


async def test_security_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    nothing, _ = make_app(secured({"header": []}, {"bearer": []}, {"basic": []}))
    mtls, _ = make_app(secured({"mtls": []}, {"undefined": []}), keys=("k1",), secret=SECRET)
    async with client(nothing) as c:
        key = await c.get("/me", headers={"X-API-Key": ""})
        any_key = await c.get("/me", headers={"X-API-Key": "anything"})
        bearer = await c.get("/me", headers={"Authorization": f"Bearer {token()}"})
    async with client(mtls) as c:
        refused = await c.get("/me", headers={"X-API-Key": "k1"})
    for response in (key, any_key, bearer, refused):
        assert response.status_code == 401
    assert "no API keys configured" in error_of(any_key)["message"]
    monkeypatch.setenv("API_KEYS", "from-env")
    for name in ("API_KEYS_FILE", "JWT_SECRET", "JWT_SECRET_FILE", "JWT_PUBLIC_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    assert Credentials.from_environment().api_keys.check("from-env")
    assert not Credentials.from_environment().tokens.configured()


async def test_missing_keys_are_warned_about_at_startup(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        make_app(secured({"header": []}))
    assert [r for r in caplog.records if "no API keys configured" in r.getMessage()]
    assert not [r for r in caplog.records if "JWT" in r.getMessage()]


# --------------------------------------------------------------------------- replies, errors

PROBLEM = {
    "type": "object",
    "required": ["title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
PROBLEM_EXAMPLE = {"type": "about:blank", "title": "Bad", "status": 400}


def problem_document() -> dict[str, Any]:
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    pet = {
        "application/json": {
            "schema": {"type": "object", "properties": {"id": {"type": "integer"}}}
        }
    }
    get = {
        "operationId": "getPet",
        "parameters": [parameter("id", "path", {"type": "integer"}, required=True)],
        "responses": {
            "200": {"description": "ok", "content": pet},
            "404": {"description": "none", "content": problem},
            "4XX": {"description": "bad", "content": problem},
            "default": {"description": "error", "content": problem},
        },
    }
    return document(
        {
            "/pets/{id}": {"get": get, "delete": {"operationId": "deletePet", "responses": OK}},
            "/text": {
                "get": {
                    "responses": {
                        "200": {
                            "description": "t",
                            "content": {"text/plain": {"schema": {"type": "string"}}},
                        },
                        "204": {"description": "none"},
                    }
                }
            },
        },
        components={"schemas": {"Problem": copy.deepcopy(PROBLEM)}},
    )


async def test_documented_errors_are_built_from_the_examples() -> None:
    doc = problem_document()

    async def get_pet(call: Call) -> Reply:
        if call.path["id"] == 1:
            raise ContractError(404, "not_found", "no pet 1")
        if call.path["id"] == 2:
            raise NotFound("no pet 2 in the store")
        return Reply(200, {"id": call.path["id"]})

    examples = {"#/components/schemas/Problem": PROBLEM_EXAMPLE}
    app, _ = make_app(doc, {"getPet": get_pet}, examples=examples)
    async with client(app) as c:
        missing = await c.get("/pets/1")
        from_store = await c.get("/pets/2")
        invalid = await c.get("/pets/x")
        found = await c.get("/pets/3")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    # the schema's string properties named like a message get it, present or not
    assert missing.json() == {
        "type": "about:blank",
        "title": "no pet 1",
        "detail": "no pet 1",
        "status": 404,
    }
    assert from_store.json() == {
        "type": "about:blank",
        "title": "no pet 2 in the store",
        "detail": "no pet 2 in the store",
        "status": 404,
    }
    assert invalid.status_code == 400 and invalid.json()["status"] == 400
    assert invalid.json()["title"] == "the request is not valid"
    assert found.json() == {"id": 3}


async def test_a_filled_example_that_does_not_validate_is_sent_unchanged() -> None:
    doc = problem_document()
    doc["components"]["schemas"]["Problem"]["properties"]["status"]["enum"] = [400]
    at = pointer(
        "paths",
        "/pets/{id}",
        "get",
        "responses",
        "404",
        "content",
        "application/problem+json",
        "schema",
    )

    async def get_pet(call: Call) -> Reply:
        raise ContractError(404, "not_found", "gone")

    app, _ = make_app(doc, {"getPet": get_pet}, examples={at: PROBLEM_EXAMPLE})
    async with client(app) as c:
        response = await c.get("/pets/1")
    assert response.status_code == 404 and response.json() == PROBLEM_EXAMPLE


async def test_errors_without_an_example_use_the_error_shape() -> None:
    doc = problem_document()

    async def get_pet(call: Call) -> Reply:
        raise NotFound("no pet", details=[{"field": "path.id", "message": "unknown"}])

    app, _ = make_app(doc, {"getPet": get_pet})
    async with client(app) as c:
        response = await c.get("/pets/1")
        unhandled = await c.delete("/pets/1")
    error = error_of(response)
    assert response.status_code == 404 and error["code"] == "not_found"
    assert error["message"] == "no pet"
    assert error["details"] == [{"field": "path.id", "message": "unknown"}]
    assert unhandled.status_code == 501 and error_of(unhandled)["code"] == "not_implemented"


async def test_unexpected_errors_render_the_documented_500_else_http_py_answers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    doc = problem_document()

    async def boom(call: Call) -> Reply:
        raise RuntimeError("password=hunter2")

    examples = {"#/components/schemas/Problem": PROBLEM_EXAMPLE}
    app, _ = make_app(doc, {"getPet": boom, "deletePet": boom}, examples=examples)
    with caplog.at_level(logging.ERROR):
        async with client(app) as c:
            documented = await c.get("/pets/1")
            undocumented = await c.delete("/pets/1")
    assert documented.status_code == 500
    assert documented.json() == {
        "type": "about:blank",
        "title": "internal server error",
        "detail": "internal server error",
        "status": 500,
    }
    assert undocumented.status_code == 500 and error_of(undocumented)["code"] == "internal_error"
    assert "hunter2" not in documented.text + undocumented.text
    assert len([r for r in caplog.records if r.exc_info]) == 2


async def test_validate_responses_turns_a_bad_reply_into_a_500(
    caplog: pytest.LogCaptureFixture,
) -> None:
    doc = problem_document()

    async def wrong_type(call: Call) -> Reply:
        return Reply(200, {"id": "seven"})

    async def undocumented(call: Call) -> Reply:
        return Reply(202)

    handlers: dict[str, Handler] = {"getPet": wrong_type, "deletePet": undocumented}
    app, _ = make_app(doc, handlers)
    lenient, _ = make_app(doc, handlers, validate_responses=False)
    with caplog.at_level(logging.ERROR):
        async with client(app) as c:
            bad = await c.get("/pets/1")
            status = await c.delete("/pets/1")
    async with client(lenient) as c:
        passed = await c.get("/pets/1")
    assert bad.status_code == 500
    assert "body.id" in error_of(bad)["message"] and "is not of type" in error_of(bad)["message"]
    assert status.status_code == 500 and "does not document" in error_of(status)["message"]
    assert any("body.id" in r.getMessage() for r in caplog.records)
    assert passed.status_code == 200 and passed.json() == {"id": "seven"}


async def test_replies_are_written_with_the_documented_media_type() -> None:
    doc = problem_document()
    replies = iter(
        [
            Reply(200, "héllo"),
            Reply(204),
            Reply(200, b"\x00raw", media_type="application/octet-stream", headers={"X-A": "1"}),
        ]
    )

    async def text(call: Call) -> Reply:
        return next(replies)

    doc["paths"]["/text"]["get"]["responses"]["200"]["content"]["application/octet-stream"] = {}
    app, _ = make_app(doc, {"GET /text": text})
    async with client(app) as c:
        plain = await c.get("/text")
        empty = await c.get("/text")
        raw = await c.get("/text")
    assert plain.headers["content-type"] == "text/plain; charset=utf-8"
    assert plain.text == "héllo"
    assert empty.status_code == 204 and empty.content == b""
    assert "content-type" not in empty.headers
    assert raw.content == b"\x00raw" and raw.headers["x-a"] == "1"


async def test_json_replies_are_compact_and_keep_non_ascii() -> None:
    doc = document(
        {
            "/x": {
                "get": {
                    "responses": {"2XX": {"description": "ok", "content": {"application/json": {}}}}
                }
            }
        }
    )

    async def reply(call: Call) -> Reply:
        return Reply(201, {"name": "Réx", "n": [1, 2]})

    app, _ = make_app(doc, {"GET /x": reply})
    async with client(app) as c:
        response = await c.get("/x")
    assert response.status_code == 201
    assert response.content == '{"name":"Réx","n":[1,2]}'.encode()
    assert response.headers["content-type"] == "application/json"


# ---------------------------------------------------------------------------------- serving


async def test_the_openapi_document_is_the_contract_itself() -> None:
    doc = problem_document()
    app, _ = make_app(doc)
    async with client(app) as c:
        served = await c.get("/openapi.json")
        docs = await c.get("/docs")
    assert served.json() == json.loads(json.dumps(doc))
    assert docs.status_code == 200


async def test_metrics_are_labelled_by_the_path_template() -> None:
    app, metrics = make_app(ODD)
    async with client(app) as c:
        await c.get("/pets/1")
        await c.get("/pets/2")
        await c.post("/pets/3")
        await c.get("/nowhere")
    sample = metrics.registry.get_sample_value
    assert (
        sample("http_requests_total", {"method": "GET", "route": "/pets/{id}", "status": "200"})
        == 2
    )
    assert (
        sample("http_requests_total", {"method": "POST", "route": "/pets/{id}", "status": "405"})
        == 1
    )
    assert (
        sample("http_requests_total", {"method": "GET", "route": "unmatched", "status": "404"}) == 1
    )


async def test_a_thousand_operations_build_and_serve() -> None:
    paths: dict[str, Any] = {}
    for i in range(250):
        item = parameter("id", "path", {"type": "integer"}, required=True)
        paths[f"/r{i}/{{id}}"] = {
            "parameters": [item],
            "get": operation(parameter("q", "query", {"type": "string", "pattern": "^[a-z]+$"})),
            "put": operation(
                requestBody={
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}
                    }
                }
            ),
            "delete": operation(),
        }
        paths[f"/r{i}"] = {"post": operation()}
    doc = document(paths, components={"schemas": {"Thing": {"type": "object"}}})
    contract = Contract(doc)
    assert len(contract.operations) == 1000
    app, _ = make_app(doc)
    async with client(app) as c:
        got = await c.get("/r249/5?q=abc")
        put = await c.put("/r3/1", json={"a": 1})
        bad = await c.get("/r0/5?q=ABC")
    assert got.json()["operation"] == "GET /r249/{id}" and got.json()["path"] == {"id": 5}
    assert put.json()["body"] == {"a": 1}
    assert bad.status_code == 400


async def test_the_route_is_an_asgi_app_on_its_own() -> None:
    route = contract_app(
        Contract(ODD), {"mine": echo}, credentials=Credentials(ApiKeys(), JwtVerifier())
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=route), base_url="http://t"
    ) as c:
        mine = await c.get("/pets/mine")
        unknown = await c.get("/nowhere")
    assert mine.status_code == 200 and mine.json()["operation"] == "mine"
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


async def test_the_route_on_its_own_answers_the_lifespan_protocol() -> None:
    route = contract_app(Contract(ODD), {}, credentials=Credentials(ApiKeys(), JwtVerifier()))
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(incoming)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await route({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_handlers_for_unknown_operations_are_refused() -> None:
    with pytest.raises(ValueError, match="notThere"):
        contract_app(
            Contract(ODD), {"notThere": echo}, credentials=Credentials(ApiKeys(), JwtVerifier())
        )


async def test_the_service_body_limit_still_applies_to_streamed_bodies() -> None:
    doc = body_document({"application/json": {"schema": {"type": "object"}}})
    app = FastAPI()
    install(app, metrics=Metrics("test"), max_body_bytes=10)
    credentials = Credentials(ApiKeys(), JwtVerifier())
    app.router.routes.append(
        contract_app(Contract(doc), {"POST /pets": echo}, credentials=credentials)
    )

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "a long'
        yield b' name"}'

    async with client(app) as c:
        small = await c.post("/pets", json={"a": 1})
        large = await c.post(
            "/pets", content=chunks(), headers={"content-type": "application/json"}
        )
    assert small.status_code == 200
    assert large.status_code == 413 and error_of(large)["code"] == "payload_too_large"
