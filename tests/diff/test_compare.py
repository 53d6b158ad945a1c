"""The change classifier: one pair of blueprint revisions per rule, and compatible changes that
must not be flagged."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from autocoder.compiler import compile_texts, dump_yaml
from autocoder.diff import breaking, compare
from autocoder.ir.models import IR

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "todo-api"
YAML_SAFE = YAML(typ="safe")
BASE = YAML_SAFE.load((EXAMPLE / "architecture.yaml").read_text())
DEPLOYMENT = (EXAMPLE / "deployment.yaml").read_text()


def ir_of(architecture: dict[str, Any]) -> IR:
    result = compile_texts(dump_yaml(architecture, ""), DEPLOYMENT)
    assert result.ir is not None and result.ok, [d.message for d in result.sink.diagnostics]
    return result.ir


def routes(a: dict[str, Any]) -> list[dict[str, Any]]:
    return a["components"]["api"]["config"]["routes"]


def drop_route(a: dict[str, Any]) -> None:
    routes(a)[:] = [r for r in routes(a) if r["operation_id"] != "deleteTodo"]
    a["policy"]["slos"] = [s for s in a["policy"]["slos"] if s["route"] != "deleteTodo"]


def rename_operation(a: dict[str, Any]) -> None:
    for r in routes(a):
        if r["operation_id"] == "getTodo":
            r["operation_id"] = "readTodo"
    for s in a["policy"]["slos"]:
        if s["route"] == "getTodo":
            s["route"] = "readTodo"


def require_notes(a: dict[str, Any]) -> None:
    a["types"]["TodoCreate"]["required"].append("notes")


def drop_response_field(a: dict[str, Any]) -> None:
    a["types"]["Todo"]["properties"].pop("assignee")
    a["components"]["todos"]["config"]["filters"].remove("assignee")
    a["components"]["todos"]["config"]["indexes"].remove("assignee")
    for name in ("TodoCreate", "TodoPatch"):
        a["types"][name]["properties"].pop("assignee")


def retype_field(a: dict[str, Any]) -> None:
    a["types"]["TodoStats"]["properties"]["total"] = {"type": "number", "minimum": 0}


def drop_enum_value(a: dict[str, Any]) -> None:
    a["types"]["Priority"]["enum"].remove("urgent")


def public_to_private(a: dict[str, Any]) -> None:
    a["policy"]["security"]["auth"] = "bearer"


def change_key(a: dict[str, Any]) -> None:
    a["types"]["Todo"]["properties"]["slug"] = {"type": "string", "readOnly": True}
    a["types"]["Todo"]["required"].append("slug")
    a["components"]["todos"]["config"]["key"] = "slug"


@pytest.mark.parametrize(
    ("edit", "rule", "level"),
    [
        (drop_route, "api-route-removed", "breaking"),
        (rename_operation, "api-operation-id-changed", "potentially-breaking"),
        (require_notes, "api-request-field-required", "breaking"),
        (drop_response_field, "api-response-field-removed", "breaking"),
        (drop_response_field, "data-store-field-removed", "breaking"),
        (retype_field, "type-field-retyped", "breaking"),
        (drop_enum_value, "type-enum-value-removed", "breaking"),
        (public_to_private, "api-auth-tightened", "breaking"),
        (change_key, "data-store-key-changed", "breaking"),
    ],
)
def test_each_rule_sees_its_change(
    edit: Callable[[dict[str, Any]], None], rule: str, level: str
) -> None:
    head = copy.deepcopy(BASE)
    edit(head)
    found = compare(ir_of(BASE), ir_of(head))
    assert rule in {c.rule.id for c in found}
    change = next(c for c in found if c.rule.id == rule)
    assert change.rule.level == level
    assert change.base is not None and "#/" in change.base
    assert change in breaking(found) or level != "breaking"


def test_compatible_changes_are_not_breaking() -> None:
    head = copy.deepcopy(BASE)
    head["types"]["Todo"]["properties"]["color"] = {"type": "string", "default": ""}
    head["types"]["TodoCreate"]["properties"]["color"] = {"type": "string"}
    routes(head).append(
        {
            "method": "GET",
            "path": "/todos/{id}/copy",
            "operation_id": "peekTodo",
            "call": "todos.get",
            "response": {"type": "Todo"},
        }
    )
    found = compare(ir_of(BASE), ir_of(head))
    assert {c.rule.level for c in found} == {"compatible"}
    assert {"api-route-added", "type-field-added"} <= {c.rule.id for c in found}


def test_the_same_system_has_no_changes() -> None:
    assert compare(ir_of(BASE), ir_of(copy.deepcopy(BASE))) == []
