"""The blueprint schemas are valid 2020-12 schemas, strict, and describe every field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ["architecture.schema.json", "deployment.schema.json"]


def _load(name: str) -> dict[str, Any]:
    return json.loads((ROOT / "schemas" / name).read_text(encoding="utf-8"))


def _objects(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object" and "properties" in node:
            yield path, node
        for key, value in node.items():
            yield from _objects(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _objects(value, f"{path}/{i}")


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_is_valid_and_has_an_id(name: str) -> None:
    schema = _load(name)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith("/" + name)


@pytest.mark.parametrize("name", SCHEMAS)
def test_every_object_is_closed_and_every_field_described(name: str) -> None:
    for path, obj in _objects(_load(name)):
        assert obj.get("additionalProperties") is False, f"{path} accepts unknown keys"
        for key, prop in obj["properties"].items():
            assert isinstance(prop, dict) and prop.get("description"), f"{path}/{key} undescribed"


def test_every_builtin_kind_has_a_config_definition() -> None:
    from autocoder.kinds import BUILTIN_KINDS

    defs = _load("architecture.schema.json")["$defs"]
    for kind in BUILTIN_KINDS:
        assert kind.config_def in defs
        for key in kind.overridable:
            assert key in defs[kind.config_def]["properties"], (kind.name, key)
