"""The OpenAPI front end: real-world-like specs compile into blueprints and an IR whose routes
are the spec's operations; bad input gets located diagnostics; compiling is deterministic."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from tests_support import OPENAPI_SPECS, VALID_OPENAPI_SPECS

from autocoder.compiler import compile_source, looks_like_contract
from autocoder.frontend.openapi.compare import differences
from autocoder.ir.endpoints import (
    MOVED_PREFIXES,
    ServiceEndpoints,
    endpoints_for,
    service_endpoints,
)
from autocoder.runtime.oas import base_path

SPECS = OPENAPI_SPECS
VALID = list(VALID_OPENAPI_SPECS)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def spec_data(name: str) -> dict[str, Any]:
    text = (SPECS / name).read_text(encoding="utf-8")
    return json.loads(text) if name.endswith(".json") else YAML(typ="safe").load(text)


def codes_of(result: Any) -> list[str]:
    return [d.code.id for d in result.sink.diagnostics]


def spec_operations(data: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    """In document order of paths, methods in the OpenAPI order of a path item."""
    return [
        (method.upper(), path, item[method].get("operationId"))
        for path, item in data["paths"].items()
        for method in METHODS
        if method in item
    ]


@pytest.mark.parametrize("name", VALID)
def test_every_operation_of_a_spec_becomes_a_route(name: str) -> None:
    result = compile_source(SPECS / name)
    assert result.ok, [str(d) for d in result.sink.diagnostics]
    assert result.ir is not None
    (api,) = [c for c in result.ir.components if c.kind == "api"]
    assert api.contract is not None and api.contract.document == spec_data(name)
    prefix = base_path(spec_data(name))
    expected = spec_operations(spec_data(name))
    assert [(r.method, r.path, r.contract) for r in api.routes] == [
        (m, prefix + p, "#/paths/" + p.replace("~", "~0").replace("/", "~1") + "/" + m.lower())
        for m, p, _ in expected
    ]
    ids = [op_id for _, _, op_id in expected]
    for route, (method, path, op_id) in zip(api.routes, expected, strict=True):
        unique = op_id is not None and ids.count(op_id) == 1
        assert route.operation_id == (op_id if unique else f"{method} {path}")
    # the contract travels with the blueprints, byte for byte
    assert result.contract_files == {api.contract.file: (SPECS / name).read_bytes()}


def test_crud_collections_are_inferred_and_persisted_by_a_documents_component() -> None:
    result = compile_source(SPECS / "petstore-crud.yaml")
    assert result.ir is not None
    pets = result.ir.component("pets")
    assert pets is not None and pets.kind == "documents"
    assert pets.config["key"] == "id"
    assert pets.config["key_type"] == "integer"
    assert pets.config["key_strategy"] == "autoincrement"  # a readOnly integer id
    api = result.ir.component("api")
    assert api is not None
    calls = {r.operation_id: (r.call.component, r.call.operation) for r in api.routes if r.call}
    assert calls == {
        "listPets": ("pets", "list"),
        "createPet": ("pets", "create"),
        "showPetById": ("pets", "get"),
        "replacePet": ("pets", "replace"),
        "updatePet": ("pets", "patch"),
        "deletePet": ("pets", "delete"),
    }
    # everything else is user logic, written explicitly into architecture.yaml
    arch = YAML(typ="safe").load(result.architecture_text)
    assert arch["components"]["api"]["config"]["contract"] == "openapi.yaml"
    bindings = arch["components"]["api"]["config"]["operations"]
    assert set(bindings) == {r.operation_id for r in api.routes}


def test_the_deployment_has_dev_on_sqlite_and_prod_on_postgresql_with_secret_refs() -> None:
    result = compile_source(SPECS / "petstore-crud.yaml")
    assert result.ir is not None
    envs = {e.name: e for e in result.ir.environments}
    assert set(envs) == {"dev", "prod"}
    assert [d.engine for d in envs["prod"].databases] == ["postgresql"]
    assert {s.env for s in envs["prod"].secrets} == {"API_KEYS"}  # the spec's apiKey scheme
    assert "postgresql" not in result.deployment_text.split("dev:")[1].split("prod:")[0]


def test_operations_without_or_with_repeated_ids_are_keyed_by_method_and_path() -> None:
    result = compile_source(SPECS / "nasty-identifiers.yaml")
    assert result.ir is not None
    api = result.ir.component("api")
    assert api is not None
    keys = [r.operation_id for r in api.routes]
    assert len(set(keys)) == len(keys)
    missing = [op for op in spec_operations(spec_data("nasty-identifiers.yaml")) if op[2] is None]
    assert missing and all(f"{m} {p}" in keys for m, p, _ in missing)
    assert {"class", "import"} <= set(keys)  # fine as keys: handlers get derived names


def test_a_pattern_python_cannot_run_is_a_located_warning() -> None:
    result = compile_source(SPECS / "regex-dialects.yaml")
    assert result.ok
    (warning,) = [d for d in result.sink.diagnostics if d.code.id == "AC2106"]
    assert "\\p{Greek}" in warning.message
    assert warning.span is not None and warning.span.line > 0
    line = (SPECS / "regex-dialects.yaml").read_text().splitlines()[warning.span.line - 1]
    assert "Greek" in line


@pytest.mark.parametrize(
    ("name", "code"),
    [("swagger2.yaml", "AC2101"), ("not-openapi.yaml", "AC2102")],
)
def test_what_is_not_openapi_3_is_refused_clearly(name: str, code: str) -> None:
    result = compile_source(SPECS / name)
    assert not result.ok and result.ir is None
    assert codes_of(result) == [code]


def test_broken_references_are_reported_where_they_are() -> None:
    result = compile_source(SPECS / "broken-refs.yaml")
    assert not result.ok
    found = {d.code.id: d for d in result.sink.diagnostics}
    assert set(found) == {"AC2104", "AC2105"}
    lines = (SPECS / "broken-refs.yaml").read_text().splitlines()
    for diagnostic in found.values():
        assert diagnostic.span is not None
        assert "$ref" in lines[diagnostic.span.line - 1]


def test_an_invalid_document_is_checked_against_the_official_schema(tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t}\npaths:\n  /a:\n    get:\n      responses:\n"
        "        200: {description: ok}\n",
        encoding="utf-8",
    )
    result = compile_source(spec)
    assert codes_of(result) == ["AC2103"]
    (diagnostic,) = result.sink.diagnostics
    assert "'version' is a required property" in diagnostic.message
    assert diagnostic.span is not None and diagnostic.span.line == 2


def test_unquoted_status_codes_are_keys_like_any_other(tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n"
        "      responses:\n        200: {description: ok}\n",
        encoding="utf-8",
    )
    result = compile_source(spec)
    assert result.ok and result.ir is not None
    (route,) = result.ir.component("api").routes  # type: ignore[union-attr]
    assert route.response.status == 200


def test_json_and_yaml_sources_are_told_apart_from_blueprints_and_ir(tmp_path: Path) -> None:
    assert looks_like_contract(SPECS / "petstore-crud.yaml")
    assert looks_like_contract(SPECS / "bookstore-31.json")
    minified = tmp_path / "min.json"
    data = spec_data("bookstore-31.json")
    minified.write_text(json.dumps({"info": data["info"], **data}, separators=(",", ":")))
    assert looks_like_contract(minified)
    ir_file = tmp_path / "ir.v1.json"
    ir_file.write_text('{"ir_version": "1.1"}')
    assert not looks_like_contract(ir_file)
    assert not looks_like_contract(
        Path(__file__).parents[2] / "examples/todo-api/architecture.yaml"
    )


def test_compiling_the_output_again_gives_the_same_ir(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for target in (out, tmp_path / "again"):
        source = SPECS / "petstore-crud.yaml" if target == out else out
        done = subprocess.run(
            [sys.executable, "-m", "autocoder", "compile", str(source), "-o", str(target)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert (out / "openapi.yaml").read_bytes() == (SPECS / "petstore-crud.yaml").read_bytes()
    assert (out / "ir.v1.json").read_bytes() == (tmp_path / "again" / "ir.v1.json").read_bytes()


def test_a_large_spec_compiles() -> None:
    sys.path.insert(0, str(SPECS))
    try:
        from generate_large import large_spec  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(SPECS))
    spec = large_spec(1000, 7)
    assert len(spec_operations(spec)) == 1000
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "large.json"
        path.write_text(json.dumps(spec), encoding="utf-8")
        result = compile_source(path)
    assert result.ok and result.ir is not None
    api = result.ir.component("api")
    assert api is not None and len(api.routes) == 1000
    assert any(c.kind == "documents" for c in result.ir.components)


# --- the comparator -------------------------------------------------------------------------


def test_the_comparator_sees_contract_changes_and_ignores_writing_style() -> None:
    base = spec_data("petstore-crud.yaml")
    assert differences(base, base) == []
    restyled = json.loads(json.dumps(base))
    restyled["paths"]["/pets"]["get"]["description"] = "reworded"
    restyled["components"]["schemas"]["Pet"]["title"] = "A pet"
    assert differences(base, restyled) == []
    changed = json.loads(json.dumps(base))
    changed["paths"]["/pets"]["get"]["operationId"] = "getPets"
    del changed["paths"]["/pets/{petId}"]["delete"]
    changed["components"]["schemas"]["Pet"]["properties"]["name"]["maxLength"] = 10
    found = differences(base, changed)
    assert any(line.startswith("GET /pets: operationId differs") for line in found)
    assert "DELETE /pets/{}: missing" in found
    assert any("requestBody differs" in line for line in found)  # Pet is the create body


def test_paths_differing_only_in_parameter_names_are_a_warning(tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n"
        "  /items/{id}:\n    get:\n      operationId: read\n"
        "      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n"
        "      responses: {'200': {description: ok}}\n"
        "  /items/{item}:\n    get:\n      operationId: readAgain\n"
        "      parameters: [{name: item, in: path, required: true, schema: {type: string}}]\n"
        "      responses: {'200': {description: ok}}\n",
        encoding="utf-8",
    )
    result = compile_source(spec)
    assert result.ok  # the contract as published is served; the unreachable one is reported
    (warning,) = [d for d in result.sink.diagnostics if d.code.id == "AC3008"]
    assert warning.severity == "warning" and "cannot be reached" in warning.message
    assert warning.span is not None
    assert "readAgain" in spec.read_text().splitlines()[warning.span.line - 1]


def test_paths_the_service_uses_itself_stay_the_contracts_and_its_own_move_aside() -> None:
    result = compile_source(SPECS / "service-paths.yaml")
    assert result.ok and result.ir is not None
    moved = [d for d in result.sink.diagnostics if d.code.id == "AC2111"]
    assert [d.severity for d in moved] == ["warning"] * 3
    lines = (SPECS / "service-paths.yaml").read_text().splitlines()
    assert sorted(lines[d.span.line - 1].split()[-1] for d in moved if d.span) == [
        "getDocument",
        "getHealth",
        "getMetrics",
    ]
    assert "/_service/metrics" in " ".join(d.message for d in moved)
    endpoints = service_endpoints(result.ir)
    assert (endpoints.liveness, endpoints.readiness, endpoints.metrics) == (
        "/_service/healthz",
        "/readyz",
        "/_service/metrics",
    )
    assert (endpoints.openapi, endpoints.docs) == ("/_service/openapi.json", "/docs")
    routes = {r.path for r in result.ir.component("api").routes}  # type: ignore[union-attr]
    assert {"/metrics", "/healthz", "/openapi.json"} <= routes


def test_what_the_service_does_not_carry_out_is_a_located_warning_per_kind() -> None:
    result = compile_source(SPECS / "params-styles.yaml")
    assert result.ok
    (headers,) = [d for d in result.sink.diagnostics if d.code.id == "AC2112"]
    assert "response headers (and 2 more place(s))" in headers.message
    line = (SPECS / "params-styles.yaml").read_text().splitlines()[headers.span.line - 1]
    assert "X-Rate-Limit" in line
    webhooks = compile_source(SPECS / "bookstore-31.json")
    assert [d.message for d in webhooks.sink.diagnostics if d.code.id == "AC2112"] == [
        "the contract documents webhooks: the service never sends them"
    ]


def test_own_endpoints_take_the_first_free_prefix_and_collide_only_when_none_is() -> None:
    assert endpoints_for(["/pets"]) == ServiceEndpoints()
    assert endpoints_for(["/metrics", "/_service/metrics"]).metrics == "/_autocoder/metrics"
    crowded = ["/metrics", *(prefix + "/metrics" for prefix in MOVED_PREFIXES)]
    assert endpoints_for(crowded).metrics == "/metrics"
    assert endpoints_for(crowded).moved == ()
    assert endpoints_for(["/docs/oauth2-redirect"]).docs == "/_service/docs"


def test_a_contract_leaving_no_free_path_is_a_reserved_route_error(tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    paths = ["/readyz", *(prefix + "/readyz" for prefix in MOVED_PREFIXES)]
    spec.write_text(
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n"
        + "".join(
            f"  {p}:\n    get:\n      responses: {{'200': {{description: ok}}}}\n" for p in paths
        ),
        encoding="utf-8",
    )
    result = compile_source(spec)
    assert not result.ok
    assert codes_of(result) == ["AC3022"]


def test_names_from_titles_and_paths_are_safe_everywhere(tmp_path: Path) -> None:
    long_path = "/orgunits/{orgid}/projects/{projectid}/participants/${participantId}/activate"
    spec = tmp_path / "api.yaml"
    spec.write_text(
        "openapi: 3.0.3\n"
        "info: {title: 'U.S. EPA Enforcement and Compliance History Online ECHO Detailed',"
        " version: '1'}\npaths:\n"
        "  /case:\n    post:\n      requestBody: {content: {application/json: {schema:"
        " {$ref: '#/components/schemas/Case'}}}}\n"
        "      responses: {'201': {description: ok}}\n"
        "  /case/{id}:\n    get:\n"
        "      parameters: [{name: id, in: path, required: true, schema: {type: string}}]\n"
        "      responses: {'200': {description: ok}}\n"
        f"  {long_path}:\n    post:\n      responses: {{'204': {{description: ok}}}}\n"
        "components:\n  schemas:\n    Case: {type: object, properties: {id: {type: string}}}\n",
        encoding="utf-8",
    )
    result = compile_source(spec)
    assert result.ok, [str(d) for d in result.sink.diagnostics]
    assert result.ir is not None
    assert len(result.ir.system.name) <= 40  # namespaces and Helm release names have limits
    assert result.ir.component("case-items") is not None  # `case` is a Python soft keyword
    # an operation key longer than the emitter's line width stays one YAML key
    assert f"POST {long_path}:" in result.architecture_text
