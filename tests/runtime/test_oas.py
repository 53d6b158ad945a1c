"""OpenAPI Schema Objects as JSON Schema 2020-12, regex dialects, and validators by pointer."""

from __future__ import annotations

import re
from typing import Any

import pytest

from autocoder.runtime.oas import (
    Schemas,
    convert_document,
    convert_schema,
    pointer,
    python_pattern,
)


def test_pointers_escape_slashes_and_tildes() -> None:
    assert pointer("paths", "/pets/{id}", "get") == "#/paths/~1pets~1{id}/get"
    assert pointer("components", "schemas", "a~b") == "#/components/schemas/a~0b"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string", "nullable": True}, {"type": ["string", "null"]}),
        (
            {"type": "string", "enum": ["a"], "nullable": True},
            {"type": ["string", "null"], "enum": ["a", None]},
        ),
        ({"$ref": "#/x", "nullable": True}, {"anyOf": [{"$ref": "#/x"}, {"type": "null"}]}),
        ({"minimum": 1, "exclusiveMinimum": True}, {"exclusiveMinimum": 1}),
        ({"maximum": 9, "exclusiveMaximum": False}, {"maximum": 9}),
        ({"example": 3}, {"examples": [3]}),
        (
            {"properties": {"a": {"type": "integer", "nullable": True}}},
            {"properties": {"a": {"type": ["integer", "null"]}}},
        ),
    ],
)
def test_openapi_30_keywords_become_json_schema(
    schema: dict[str, Any], expected: dict[str, Any]
) -> None:
    assert convert_schema(schema, openapi_30=True) == expected


def test_openapi_31_schemas_pass_through() -> None:
    schema = {"type": ["string", "null"], "exclusiveMinimum": 1, "examples": [1]}
    assert convert_schema(schema, openapi_30=False) == schema


def test_one_sided_properties_are_not_required_in_their_other_direction() -> None:
    schema = {
        "type": "object",
        "required": ["id", "password", "name"],
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "password": {"type": "string", "writeOnly": True},
            "name": {"type": "string"},
        },
    }
    request = convert_schema(schema, openapi_30=True, direction="request")
    response = convert_schema(schema, openapi_30=True, direction="response")
    assert request["required"] == ["password", "name"]
    assert response["required"] == ["id", "name"]


def test_a_nullable_read_only_property_without_a_type_is_still_read_only() -> None:
    schema = {
        "nullable": True,
        "required": ["id"],
        "properties": {"id": {"allOf": [{"type": "integer"}], "readOnly": True, "nullable": True}},
    }
    request = convert_schema(schema, openapi_30=True, direction="request")
    assert request["anyOf"][0]["required"] == []
    assert request["anyOf"][0]["properties"]["id"]["readOnly"] is True


@pytest.mark.parametrize(
    ("pattern", "matches", "misses"),
    [
        (r"^\p{L}+$", "héllo", "h3llo"),
        (r"^[\p{L}0-9]+$", "é9", "é-"),
        (r"^(?<word>a+)-\k<word>$", "aa-aa", "aa-a"),
        (r"^[a-z]+$", "abc", "ABC"),
    ],
)
def test_ecmascript_patterns_are_translated(pattern: str, matches: str, misses: str) -> None:
    translated = python_pattern(pattern)
    assert translated is not None
    assert re.search(translated, matches) and not re.search(translated, misses)


def test_an_untranslatable_pattern_is_dropped() -> None:
    assert python_pattern(r"[^\p{L}]") is None
    assert "pattern" not in convert_schema({"pattern": r"\p{Greek}"}, openapi_30=False)


def document() -> dict[str, Any]:
    pet = {
        "type": "object",
        "required": ["id", "name"],
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "name": {"type": "string", "pattern": r"^\p{L}+$"},
            "born": {"type": "string", "format": "date-time"},
            "tag": {"type": "string", "nullable": True},
        },
    }
    body = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}}
    return {
        "openapi": "3.0.3",
        "paths": {
            "/pets": {"post": {"requestBody": body, "responses": {"201": body}}},
            "/a%20b/{id}": {
                "get": {"parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}]}
            },
        },
        "components": {
            "schemas": {"Pet": pet},
            "pathItems": {"Shared": {"get": {"parameters": [{"schema": {"nullable": True}}]}}},
            "requestBodies": {
                "Tagged": {"content": {"application/json": {"schema": {"nullable": True}}}}
            },
        },
    }


def test_validators_follow_refs_per_direction() -> None:
    schemas = Schemas(document())
    at = pointer("paths", "/pets", "post", "requestBody", "content", "application/json", "schema")
    out = pointer("paths", "/pets", "post", "responses", "201", "content", "application/json")
    request = schemas.validator(at, "request")
    response = schemas.validator(out + "/schema", "response")
    assert request.is_valid({"name": "Rex", "tag": None})
    assert not request.is_valid({"name": "R3x"})
    assert not response.is_valid({"name": "Rex"})
    assert response.is_valid({"id": 1, "name": "Rex"})
    assert schemas.validator(at, "request") is request  # built once


def test_date_times_are_checked_by_rfc_3339() -> None:
    validator = Schemas(document()).validator("#/components/schemas/Pet", "response")
    assert validator.is_valid({"id": 1, "name": "Rex", "born": "2024-01-02T03:04:05Z"})
    assert not validator.is_valid({"id": 1, "name": "Rex", "born": "2024-01-02"})


def test_pointers_into_keys_with_a_percent_sign_resolve() -> None:
    schemas = Schemas(document())
    at = pointer("paths", "/a%20b/{id}", "get", "parameters", "0", "schema")
    assert schemas.resolve(at, "request") == {"type": "integer"}
    assert not schemas.validator(at, "request").is_valid("x")


def test_every_schema_position_is_converted_including_path_items_in_components() -> None:
    converted = convert_document(document(), "request")
    body = converted["components"]["requestBodies"]["Tagged"]["content"]["application/json"]
    assert body["schema"] == {"anyOf": [{}, {"type": "null"}]}
    tag = converted["components"]["schemas"]["Pet"]["properties"]["tag"]
    assert tag == {"type": ["string", "null"]}
    shared = converted["components"]["pathItems"]["Shared"]["get"]["parameters"][0]
    assert shared["schema"] == {"anyOf": [{}, {"type": "null"}]}
    assert document()["components"]["schemas"]["Pet"]["properties"]["tag"]["nullable"] is True


def test_read_only_is_read_through_a_ref() -> None:
    doc = {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {
            "schemas": {
                "Id": {"type": "string", "readOnly": True},
                "Book": {
                    "type": "object",
                    "required": ["id", "title"],
                    "properties": {
                        "id": {"$ref": "#/components/schemas/Id"},
                        "title": {"type": "string"},
                    },
                },
            }
        },
    }
    schemas = Schemas(doc)
    book = "#/components/schemas/Book"
    assert schemas.resolve(book, "request")["required"] == ["title"]
    assert schemas.validator(book, "request").is_valid({"title": "x"})
    assert not schemas.validator(book, "response").is_valid({"title": "x"})


def test_times_need_an_offset_as_rfc_3339_says() -> None:
    from autocoder.runtime.oas import FORMATS

    assert FORMATS.conforms("09:30:00Z", "time")
    assert FORMATS.conforms("09:30:00.5+02:00", "time")
    assert not FORMATS.conforms("09:30:00", "time")
