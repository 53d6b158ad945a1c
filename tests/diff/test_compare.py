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


# --- parameters, constraints, stored types, dataflow and deployment ---------------------------

PIPELINE = Path(__file__).resolve().parents[2] / "examples" / "order-pipeline"
FLOW = YAML_SAFE.load((PIPELINE / "architecture.yaml").read_text())
FLOW_DEPLOYMENT = YAML_SAFE.load((PIPELINE / "deployment.yaml").read_text())
TODO_DEPLOYMENT = YAML_SAFE.load(DEPLOYMENT)


def pair(
    arch: dict[str, Any],
    dep: dict[str, Any],
    edit: Callable[[dict[str, Any], dict[str, Any]], None],
) -> list[Any]:
    new_arch, new_dep = copy.deepcopy(arch), copy.deepcopy(dep)
    edit(new_arch, new_dep)

    def compiled(a: dict[str, Any], d: dict[str, Any]) -> IR:
        result = compile_texts(dump_yaml(a, ""), dump_yaml(d, ""))
        assert result.ir is not None and result.ok, [x.message for x in result.sink.diagnostics]
        return result.ir

    return compare(compiled(arch, dep), compiled(new_arch, new_dep))


def require_query(a: dict[str, Any], d: dict[str, Any]) -> None:
    route = next(r for r in routes(a) if r["operation_id"] == "getTodoStats")
    route["query"] = {"since": {"type": "string", "required": True}}


def tighten_title(a: dict[str, Any], d: dict[str, Any]) -> None:
    a["types"]["Todo"]["properties"]["title"]["maxLength"] = 100


def retype_stored(a: dict[str, Any], d: dict[str, Any]) -> None:
    a["types"]["Todo"]["properties"]["notes"] = {"type": "integer", "default": 0}
    a["types"]["TodoCreate"]["properties"]["notes"] = {"type": "integer"}
    a["types"]["TodoPatch"]["properties"]["notes"] = {"type": "integer"}


def drop_port(a: dict[str, Any], d: dict[str, Any]) -> None:
    a["components"]["validate"]["outputs"].pop("rejected")
    a["bindings"] = [b for b in a["bindings"] if b["from"] != "validate.rejected"]
    a["components"].pop("rejected-orders")


def weaken_delivery(a: dict[str, Any], d: dict[str, Any]) -> None:
    a["bindings"][0]["qos"]["delivery"] = "at_most_once"


def move_port(a: dict[str, Any], d: dict[str, Any]) -> None:
    d["environments"]["prod"]["port"] = 9000


def drop_secret(a: dict[str, Any], d: dict[str, Any]) -> None:
    d["environments"]["prod"]["secrets"].pop("API_KEYS")
    d["environments"]["staging"]["secrets"].pop("API_KEYS")


def drop_env(a: dict[str, Any], d: dict[str, Any]) -> None:
    d["environments"]["prod"]["env"].pop("OTEL_SERVICE_NAME")


def fewer_replicas(a: dict[str, Any], d: dict[str, Any]) -> None:
    d["environments"]["prod"]["autoscaling"]["min_replicas"] = 2


def cut_limits(a: dict[str, Any], d: dict[str, Any]) -> None:
    d["environments"]["prod"]["resources"]["limits"]["memory"] = "256Mi"


def drop_staging(a: dict[str, Any], d: dict[str, Any]) -> None:
    d["environments"].pop("staging")


def drop_prod(a: dict[str, Any], d: dict[str, Any]) -> None:
    d["environments"].pop("staging")
    d["environments"].pop("prod")


def rename_request_type_and_tighten(a: dict[str, Any], d: dict[str, Any]) -> None:
    a["types"]["TodoNew"] = a["types"].pop("TodoCreate")
    a["types"]["TodoNew"]["properties"]["title"]["maxLength"] = 10
    for r in routes(a):
        if r.get("request") == "TodoCreate":
            r["request"] = "TodoNew"


def rename_path_parameter(a: dict[str, Any], d: dict[str, Any]) -> None:
    for r in routes(a):
        r["path"] = r["path"].replace("{id}", "{todo_id}")


def optional_response_field(a: dict[str, Any], d: dict[str, Any]) -> None:
    a["types"]["Todo"]["required"].remove("priority")


def add_pattern(a: dict[str, Any], d: dict[str, Any]) -> None:
    a["types"]["Todo"]["properties"]["title"]["pattern"] = "^[A-Z]"


def rename_key_header(a: dict[str, Any], d: dict[str, Any]) -> None:
    a["policy"]["security"]["api_key_header"] = "X-Todo-Key"


@pytest.mark.parametrize(
    ("base", "edit", "rule", "level"),
    [
        ("todo", rename_key_header, "api-auth-tightened", "breaking"),
        ("todo", drop_staging, "deploy-environment-removed", "potentially-breaking"),
        ("todo", drop_prod, "deploy-production-removed", "breaking"),
        ("todo", rename_request_type_and_tighten, "type-constraint-narrowed", "breaking"),
        ("todo", rename_path_parameter, "api-path-parameters-renamed", "potentially-breaking"),
        ("todo", optional_response_field, "api-response-field-removed", "breaking"),
        ("todo", add_pattern, "type-pattern-changed", "potentially-breaking"),
        ("todo", require_query, "api-parameter-required", "breaking"),
        ("todo", tighten_title, "type-constraint-narrowed", "breaking"),
        ("todo", retype_stored, "data-store-field-retyped", "breaking"),
        ("flow", drop_port, "flow-port-removed", "breaking"),
        ("flow", weaken_delivery, "flow-delivery-weakened", "breaking"),
        ("todo", move_port, "deploy-port-changed", "breaking"),
        ("todo", drop_secret, "deploy-secret-removed", "breaking"),
        ("todo", drop_env, "deploy-env-removed", "potentially-breaking"),
        ("todo", fewer_replicas, "deploy-replicas-lowered", "potentially-breaking"),
        ("todo", cut_limits, "deploy-limits-cut", "potentially-breaking"),
    ],
)
def test_each_layer_rule_sees_its_change(base: str, edit: Any, rule: str, level: str) -> None:
    arch, dep = (BASE, TODO_DEPLOYMENT) if base == "todo" else (FLOW, FLOW_DEPLOYMENT)
    found = pair(arch, dep, edit)
    change = next((c for c in found if c.rule.id == rule), None)
    assert change is not None, [c.rule.id for c in found]
    assert change.rule.level == level
    semver = [c for c in found if c.rule.id == "semver-major-required"]
    assert bool(semver) == bool(breaking(found))  # a breaking change without a major bump


def test_a_retyped_bound_port_is_flagged() -> None:
    def retype(a: dict[str, Any], d: dict[str, Any]) -> None:
        a["components"]["rejected-orders"]["inputs"]["in"]["type"] = "object"

    found = pair(FLOW, FLOW_DEPLOYMENT, retype)
    assert "flow-binding-type-changed" in {c.rule.id for c in found}


def test_a_major_bump_satisfies_semver_and_compatible_changes_pass() -> None:
    def breaking_with_bump(a: dict[str, Any], d: dict[str, Any]) -> None:
        drop_route(a)
        a["system"]["version"] = "2.0.0"

    assert "semver-major-required" not in {
        c.rule.id for c in pair(BASE, TODO_DEPLOYMENT, breaking_with_bump)
    }

    def generous(a: dict[str, Any], d: dict[str, Any]) -> None:
        a["types"]["Todo"]["properties"]["title"]["maxLength"] = 400
        d["environments"]["prod"]["resources"]["limits"]["memory"] = "1Gi"
        d["environments"]["prod"]["replicas"] = 4
        d["environments"]["prod"]["autoscaling"]["min_replicas"] = 4
        d["environments"]["prod"]["env"]["FEATURE_FLAGS"] = "fast-lists"

    assert pair(BASE, TODO_DEPLOYMENT, generous) == []


def test_a_query_parameter_that_accepts_fewer_values_is_breaking() -> None:
    def with_limit(maximum: int) -> Callable[[dict[str, Any], dict[str, Any]], None]:
        def edit(a: dict[str, Any], d: dict[str, Any]) -> None:
            route = next(r for r in routes(a) if r["operation_id"] == "getTodoStats")
            route["query"] = {"limit": {"type": "integer", "maximum": maximum}}

        return edit

    wide = copy.deepcopy(BASE)
    with_limit(500)(wide, {})
    found = pair(wide, TODO_DEPLOYMENT, with_limit(100))
    (change,) = [c for c in found if c.rule.id == "api-parameter-narrowed"]
    assert change.rule.level == "breaking" and "maximum 500 became 100" in change.message
    assert pair(wide, TODO_DEPLOYMENT, with_limit(1000)) == []
