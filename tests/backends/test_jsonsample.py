"""The JSON Schema sampler: one deterministic, valid value per schema of an OpenAPI document.

Every request body, response, parameter and component schema of the test specs under
tests/frontend/openapi/specs must sample to a value that validates (checked here again with the
document's own validator), except the schemas the specs' README lists as unsatisfiable. Each
sampling rule then has a unit test of its own.
"""

from __future__ import annotations

import importlib.util
import json
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests_support import OPENAPI_SPECS, VALID_OPENAPI_SPECS

from autocoder.backends.python_service.jsonsample import NoSample, sample
from autocoder.diagnostics import DiagnosticSink
from autocoder.frontend.loader import load_yaml_text
from autocoder.runtime.oas import Direction, Schemas, pointer, schema_pointers

SPECS = OPENAPI_SPECS
VALID_SPECS = VALID_OPENAPI_SPECS
# (spec, schema pointer): no finite value exists; listed with the reason in the specs' README.
UNSATISFIABLE = {("recursive-polymorphic.yaml", "#/components/schemas/Ouroboros")}


def _load(name: str) -> dict[str, Any]:
    text = (SPECS / name).read_text(encoding="utf-8")
    if name.endswith(".json"):
        data: dict[str, Any] = json.loads(text)
        return data
    sink = DiagnosticSink()
    loaded = load_yaml_text(text, name, sink)
    assert loaded is not None, [d.message for d in sink.diagnostics]
    return loaded.data


def _large_spec(operations: int) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location("generate_large", SPECS / "generate_large.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    document: dict[str, Any] = module.large_spec(operations, seed=7)
    return document


def _positions(document: dict[str, Any]) -> list[tuple[str, Direction]]:
    """Every schema position of the document with the direction(s) it is used in."""
    out: list[tuple[str, Direction]] = []
    for at, _schema in schema_pointers(document):
        ref = pointer(*at)
        if at[0] == "components" and at[1] == "schemas":
            out += [(ref, "request"), (ref, "response")]
        else:
            out.append((ref, "response" if "responses" in at or "headers" in at else "request"))
    return out


def _sample_all(name: str, document: dict[str, Any]) -> tuple[int, list[str]]:
    schemas = Schemas(document)
    problems: list[str] = []
    count = 0
    for ref, direction in _positions(document):
        for variant in (0, 1):
            count += 1
            try:
                value = sample(schemas, ref, direction, variant=variant)
            except NoSample as exc:
                if (name, ref) not in UNSATISFIABLE:
                    problems.append(f"{direction} {ref} variant {variant}: {exc}")
                continue
            if (name, ref) in UNSATISFIABLE:
                problems.append(f"{ref} is listed as unsatisfiable but sampled to {value!r}")
            errors = list(schemas.validator(ref, direction).iter_errors(value))
            if errors:
                problems.append(f"{direction} {ref}: {value!r} is invalid: {errors[0].message}")
    return count, problems


# --- every schema of every test spec ---------------------------------------------------------


@pytest.mark.parametrize("name", VALID_SPECS)
def test_every_schema_of_the_spec_samples_to_a_valid_value(name: str) -> None:
    count, problems = _sample_all(name, _load(name))
    assert count > 10
    assert problems == []


def test_every_schema_of_a_generated_200_operation_spec_samples() -> None:
    document = _large_spec(200)
    count, problems = _sample_all("large-200", document)
    assert count > 400
    assert problems == []


def test_the_unsatisfiable_schemas_say_why() -> None:
    schemas = Schemas(_load("recursive-polymorphic.yaml"))
    with pytest.raises(NoSample, match="Ouroboros/properties/tail: the value nests without end"):
        sample(schemas, "#/components/schemas/Ouroboros", "response")


def test_broken_refs_name_the_ref() -> None:
    document = _load("broken-refs.yaml")
    schemas = Schemas(document)
    at = ("paths", "/widgets", "get", "responses", "200", "content", "application/json")
    with pytest.raises(NoSample, match=r"'#/components/schemas/Widget' does not resolve"):
        sample(schemas, pointer(*at, "schema"), "response")
    at = ("paths", "/gadgets", "get", "responses", "200", "content", "application/json")
    with pytest.raises(NoSample, match=r"'other.yaml#/Foo' points outside the document"):
        sample(schemas, pointer(*at, "schema"), "response")


def test_sampling_is_deterministic_across_documents() -> None:
    first = Schemas(_load("bookstore-31.json"))
    second = Schemas(_load("bookstore-31.json"))
    refs = [ref for ref, _ in _positions(first.document)]
    for ref in reversed(refs):  # another order must not change any value
        sample(second, ref, "response")
    assert [sample(first, r, "response") for r in refs] == [
        sample(second, r, "response") for r in refs
    ]


def test_every_response_of_a_1000_operation_spec_samples_in_seconds() -> None:
    document = _large_spec(1000)
    started = time.perf_counter()
    schemas = Schemas(document)
    responses = [
        pointer(*at)
        for at, _ in schema_pointers(document)
        if "responses" in at and at[0] == "paths"
    ]
    values = [sample(schemas, ref, "response") for ref in responses]
    elapsed = time.perf_counter() - started
    assert len(values) > 800
    assert elapsed < 10, f"{elapsed:.1f}s"


# --- unit tests of the rules ---------------------------------------------------------------------


def _schemas(components: dict[str, Any], openapi: str = "3.1.0") -> Schemas:
    document = {
        "openapi": openapi,
        "info": {"title": "t", "version": "1"},
        "paths": {},
        "components": {"schemas": components},
    }
    return Schemas(document)


def _one(
    schema: Any,
    direction: Direction = "response",
    *,
    variant: int = 0,
    openapi: str = "3.1.0",
    **others: Any,
) -> Any:
    return sample(
        _schemas({"S": schema, **others}, openapi),
        "#/components/schemas/S",
        direction,
        variant=variant,
    )


def test_examples_then_default_then_const_then_enum() -> None:
    assert _one({"type": "string", "examples": ["a", "b"], "default": "d"}) == "a"
    assert _one({"type": "string", "default": "d", "enum": ["d", "e"]}) == "d"
    assert _one({"const": 42}) == 42
    assert _one({"type": ["string", "null"], "enum": [None, "x"]}) == "x"
    assert _one({"type": "null", "enum": [None]}) is None
    assert _one({"type": "integer", "example": 7}, openapi="3.0.3") == 7


def test_an_example_that_does_not_validate_is_skipped() -> None:
    assert _one({"type": "string", "maxLength": 3, "examples": ["too long"]}) == "sam"
    pet = {
        "type": "object",
        "required": ["name"],
        "properties": {"name": {"type": "string"}},
        "examples": [{"nom": "Rex"}, {"name": "Rex"}],
    }
    assert _one(pet) == {"name": "Rex"}


def test_all_of_merges_properties_required_types_and_bounds() -> None:
    value = _one(
        {
            "allOf": [
                {"$ref": "#/components/schemas/Base"},
                {
                    "type": "object",
                    "required": ["size"],
                    "properties": {"size": {"type": "integer", "maximum": 5}},
                },
            ]
        },
        Base={
            "type": "object",
            "required": ["name"],
            "properties": {"name": {"type": "string"}, "size": {"type": "number", "minimum": 3}},
        },
    )
    assert value == {"name": "sample", "size": 3}
    assert isinstance(value["size"], int)  # number ∩ integer = integer


def test_all_of_with_contradicting_types_is_no_sample() -> None:
    with pytest.raises(NoSample, match=r"#/components/schemas/S/allOf/1: allOf asks for type"):
        _one({"allOf": [{"type": "string"}, {"type": "integer"}]})


def test_one_of_takes_the_second_branch_when_the_first_value_matches_both() -> None:
    components = _load("recursive-polymorphic.yaml")["components"]["schemas"]
    value = _one({"$ref": "#/components/schemas/ContactInput"}, **components)
    assert set(value) == {"id", "name", "email"}  # {"id": 1} would be a ContactRef and a Contact


def test_any_of_takes_the_first_branch_that_works() -> None:
    value = _one(
        {"anyOf": [{"type": "string", "minLength": 3, "maxLength": 1}, {"type": "boolean"}]}
    )
    assert value is True


def test_discriminator_is_set_to_the_mapping_key_or_the_schema_name() -> None:
    shape = {"type": "object", "required": ["kind"], "properties": {"kind": {"type": "string"}}}
    union = {
        "oneOf": [{"$ref": "#/components/schemas/Circle"}, {"$ref": "#/components/schemas/Square"}],
        "discriminator": {
            "propertyName": "kind",
            "mapping": {"circle": "#/components/schemas/Circle"},
        },
    }
    circle = {
        "allOf": [shape, {"required": ["radius"], "properties": {"radius": {"type": "number"}}}]
    }
    square = {"allOf": [shape, {"required": ["side"], "properties": {"side": {"type": "number"}}}]}
    assert _one(union, Circle=circle, Square=square)["kind"] == "circle"
    unmapped = {**union, "discriminator": {"propertyName": "kind"}}
    assert _one(unmapped, Circle=circle, Square=square)["kind"] == "Circle"


def test_a_base_whose_one_of_lists_its_own_subtypes_is_no_sample() -> None:
    # common in real documents, but validating it never ends (Pet -> oneOf -> Cat -> allOf -> Pet)
    pet = {
        "type": "object",
        "required": ["petType"],
        "properties": {"petType": {"type": "string"}},
        "oneOf": [{"$ref": "#/components/schemas/Cat"}],
        "discriminator": {"propertyName": "petType", "mapping": {"cat": "Cat"}},
    }
    cat = {"allOf": [{"$ref": "#/components/schemas/S"}, {"properties": {"meow": {}}}]}
    with pytest.raises(NoSample, match=r"S/oneOf/0: validating it never ends"):
        _one(pet, Cat=cat)


def test_a_broken_ref_in_an_optional_member_is_not_silently_left_out() -> None:
    with pytest.raises(NoSample, match="'#/components/schemas/Nope' does not resolve"):
        _one({"type": "object", "properties": {"x": {"$ref": "#/components/schemas/Nope"}}})


def test_a_subtype_names_itself_in_its_base_discriminator() -> None:
    schemas = Schemas(_load("recursive-polymorphic.yaml"))
    assert sample(schemas, "#/components/schemas/Puppy", "response")["kind"] == "Puppy"
    assert sample(schemas, "#/components/schemas/Dog", "response")["kind"] == "Dog"
    assert sample(schemas, "#/components/schemas/Animal", "response")["kind"] == "sample"


def test_recursion_stops_at_an_empty_array_or_null() -> None:
    schemas = Schemas(_load("recursive-polymorphic.yaml"))
    tree = sample(schemas, "#/components/schemas/Tree", "response")
    depth = 0
    while tree["children"]:
        tree, depth = tree["children"][0], depth + 1
    assert 1 <= depth <= 4
    node = sample(schemas, "#/components/schemas/Node", "response")
    links = 0
    while node["next"] is not None:
        node, links = node["next"], links + 1
    assert 1 <= links <= 4


def test_required_recursion_without_end_is_no_sample_naming_the_pointer() -> None:
    with pytest.raises(NoSample, match=r"#/components/schemas/S/properties/me: .*without end"):
        _one(
            {
                "type": "object",
                "required": ["me"],
                "properties": {"me": {"$ref": "#/components/schemas/S"}},
            }
        )


def test_a_pattern_is_matched_within_min_and_max_length() -> None:
    for low, high in ((12, 12), (1, 3), (30, None)):
        schema: dict[str, Any] = {"type": "string", "pattern": "^[a-z]+-?[0-9]*$", "minLength": low}
        if high is not None:
            schema["maxLength"] = high
        text = _one(schema)
        assert re.fullmatch("[a-z]+-?[0-9]*", text)
        assert low <= len(text) <= (high or 1000)


def test_patterns_with_lookaheads_groups_and_unicode_classes() -> None:
    password = _one({"type": "string", "pattern": "^(?=.*[A-Z])(?=.*\\d)(?=.*[^\\w]).{10,}$"})
    assert re.fullmatch(r"(?=.*[A-Z])(?=.*\d)(?=.*[^\w]).{10,}", password)
    assert re.fullmatch(r"(\d{4})-\1", _one({"type": "string", "pattern": "^(?<y>\\d{4})-\\k<y>$"}))
    letters = _one({"type": "string", "pattern": "^\\p{L}{3}\\P{L}$"}, openapi="3.0.3")
    assert letters[:3].isalpha() and not letters[3].isalpha()


def test_multiple_of_with_bounds() -> None:
    assert _one({"type": "integer", "multipleOf": 7, "minimum": 10}) == 14
    assert _one({"type": "integer", "multipleOf": 4, "maximum": -1}) == -4
    price = _one({"type": "number", "multipleOf": 0.01, "exclusiveMinimum": 1, "maximum": 1.5})
    assert 1 < price <= 1.5 and round(price / 0.01) == price / 0.01
    with pytest.raises(NoSample, match="no integer"):
        _one({"type": "integer", "multipleOf": 10, "minimum": 1, "maximum": 9})


def test_exclusive_bounds_in_31_and_30_spelling() -> None:
    assert _one({"type": "integer", "exclusiveMinimum": 1, "exclusiveMaximum": 3}) == 2
    value = _one(
        {"type": "integer", "minimum": 1, "exclusiveMinimum": True, "maximum": 3},
        openapi="3.0.3",
    )
    assert value == 2
    assert 0 < _one({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}) < 1
    assert _one({"type": "integer", "minimum": 5}) == 5  # 1 is preferred only when allowed


def test_unique_items_are_distinct() -> None:
    strings = _one(
        {"type": "array", "minItems": 3, "uniqueItems": True, "items": {"type": "string"}}
    )
    assert len(set(strings)) == 3
    sizes = _one(
        {"type": "array", "minItems": 3, "uniqueItems": True, "items": {"enum": ["S", "M", "L"]}}
    )
    assert sorted(sizes) == ["L", "M", "S"]
    flags = _one(
        {"type": "array", "minItems": 2, "uniqueItems": True, "items": {"type": "boolean"}}
    )
    assert flags == [True, False]
    with pytest.raises(NoSample, match="distinct items"):
        _one({"type": "array", "minItems": 3, "uniqueItems": True, "items": {"type": "boolean"}})


def test_read_only_and_write_only_follow_the_direction() -> None:
    user = {
        "type": "object",
        "required": ["id", "name", "password"],
        "properties": {
            "id": {"type": "integer", "readOnly": True},
            "name": {"type": "string"},
            "created": {"type": "string", "format": "date-time", "readOnly": True},
            "password": {"type": "string", "format": "password", "writeOnly": True},
        },
    }
    assert set(_one(user, "request")) == {"name", "password"}
    assert set(_one(user, "response")) == {"id", "name", "created"}


def test_optional_properties_only_at_the_top_level() -> None:
    inner = {"type": "object", "required": ["a"], "properties": {"a": {"type": "integer"}, "b": {}}}
    value = _one(
        {
            "type": "object",
            "properties": {"inner": inner, "list": {"type": "array", "items": inner}},
        }
    )
    assert value == {"inner": {"a": 1}, "list": [{"a": 1}]}


def test_variants_give_distinct_keys_and_keep_enums_booleans_and_dates() -> None:
    record = {
        "type": "object",
        "required": ["id", "uuid", "email", "code", "name", "status", "flag", "day"],
        "properties": {
            "id": {"type": "integer", "minimum": 1, "examples": [10]},
            "uuid": {"type": "string", "format": "uuid"},
            "email": {"type": "string", "format": "email"},
            "code": {"type": "string", "pattern": "^[A-Z]{2}[0-9]{3}$"},
            "name": {"type": "string", "maxLength": 8},
            "status": {"enum": ["open", "closed"]},
            "flag": {"type": "boolean"},
            "day": {"type": "string", "format": "date"},
        },
    }
    schemas = _schemas({"R": record})
    values = [sample(schemas, "#/components/schemas/R", "request", variant=v) for v in range(6)]
    for key in ("id", "uuid", "email", "code", "name"):
        assert len({v[key] for v in values}) == 6, key
    for key in ("status", "flag", "day"):
        assert len({v[key] for v in values}) == 1, key
    assert values[0]["id"] == 10 and values[3]["id"] == 13
    assert values[0] == sample(schemas, "#/components/schemas/R", "request")


def test_unsatisfiable_lengths_are_no_sample_naming_the_pointer() -> None:
    with pytest.raises(NoSample, match=r"^#/components/schemas/S: minLength 5 is greater than"):
        _one({"type": "string", "minLength": 5, "maxLength": 2})
    nested = {
        "type": "object",
        "required": ["x"],
        "properties": {"x": {"type": "string", "minLength": 5, "maxLength": 2}},
    }
    with pytest.raises(NoSample, match=r"#/components/schemas/S/properties/x: minLength 5"):
        _one(nested)


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("date-time", "2026-01-15T09:30:00Z"),
        ("date", "2026-01-15"),
        ("email", "ada@example.com"),
        ("uuid", "00000000-0000-4000-8000-000000000001"),
        ("uri", "https://example.com/"),
        ("url", "https://example.com/"),
        ("uri-reference", "/sample"),
        ("hostname", "example.com"),
        ("ipv4", "192.0.2.1"),
        ("ipv6", "2001:db8::1"),
        ("byte", "c2FtcGxl"),
        ("binary", "sample"),
        ("duration", "P1D"),
        ("int64", "1"),
        ("no-such-format", "sample"),
    ],
)
def test_string_formats(fmt: str, expected: str) -> None:
    assert _one({"type": "string", "format": fmt}) == expected


def test_time_takes_the_spelling_the_format_checker_accepts() -> None:
    # RFC 3339 full-time first; jsonschema without rfc3339-validator checks draft 3's %H:%M:%S
    assert _one({"type": "string", "format": "time"}) in ("09:30:00Z", "09:30:00")


def test_password_format_is_padded_to_min_length() -> None:
    assert len(_one({"type": "string", "format": "password", "minLength": 20})) == 20


def test_type_lists_prefer_the_first_non_null_type() -> None:
    assert _one({"type": ["null", "integer", "string"]}) == 1
    assert _one({"type": ["null"]}) is None
    assert _one({"type": "string", "nullable": True}, openapi="3.0.3") == "sample"


def test_without_type_the_keywords_say_what_to_build() -> None:
    assert _one({"properties": {"a": {"type": "boolean"}}}) == {"a": True}
    assert _one({"items": {"type": "integer"}}) == [1]
    assert _one({"pattern": "^x+$"}) == "x"
    assert _one({"minimum": 2}) == 2.0
    assert _one({}) == "sample"
    assert _one({"not": {"type": "integer"}}) == "sample"


def test_objects_maps_and_min_properties() -> None:
    assert _one({"type": "object"}) == {}
    assert _one({"type": "object", "additionalProperties": {"type": "integer"}}) == {"key": 1}
    closed = {
        "type": "object",
        "minProperties": 2,
        "additionalProperties": False,
        "patternProperties": {"^x-[a-z]+$": {"type": "string"}},
    }
    value = _one(closed)
    assert len(value) == 2 and all(re.fullmatch("x-[a-z]+", k) for k in value)
    named = {"type": "object", "minProperties": 2, "propertyNames": {"pattern": "^[A-Z]{3}$"}}
    assert all(re.fullmatch("[A-Z]{3}", k) for k in _one(named))


def test_arrays_prefix_items_and_contains() -> None:
    pair = {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string"}],
        "items": False,
    }
    assert _one(pair) == [1, "sample"]
    assert _one({"type": "array", "maxItems": 0}) == []
    contains = {"type": "array", "items": {"type": "integer"}, "contains": {"minimum": 5}}
    assert 5 in _one(contains)


def test_if_then_else_is_merged_when_the_condition_holds() -> None:
    schema = {
        "type": "object",
        "required": ["kind"],
        "properties": {"kind": {"const": "company"}, "vat": {"type": "string"}},
        "if": {"properties": {"kind": {"const": "company"}}},
        "then": {"required": ["vat"], "properties": {"vat": {"pattern": "^[A-Z]{2}[0-9]{8}$"}}},
    }
    value = _one(schema)
    assert re.fullmatch("[A-Z]{2}[0-9]{8}", value["vat"])


def test_external_refs_are_no_sample() -> None:
    with pytest.raises(NoSample, match="points outside the document"):
        _one({"$ref": "other.yaml#/Foo"})


def test_results_are_cached_but_callers_get_copies() -> None:
    schemas = _schemas({"S": {"type": "object", "properties": {"a": {"type": "string"}}}})
    first = sample(schemas, "#/components/schemas/S", "response")
    first["a"] = "changed"
    assert sample(schemas, "#/components/schemas/S", "response") == {"a": "sample"}


# --- any schema: a valid value or NoSample, never anything else -----------------------------------

_REFS = st.sampled_from([{"$ref": "#/components/schemas/A"}, {"$ref": "#/components/schemas/B"}])
_LEAVES = st.one_of(
    _REFS,
    st.just({}),
    st.booleans(),
    st.fixed_dictionaries(
        {"type": st.sampled_from(["string", "integer", "number", "boolean", "null", "array"])},
        optional={
            "minLength": st.integers(0, 6),
            "maxLength": st.integers(0, 6),
            "pattern": st.sampled_from(["^a+$", "[0-9]{2}", "^\\w+@\\w+$", "^(?=.*\\d).{3,}$"]),
            "format": st.sampled_from(["uuid", "email", "date", "date-time", "ipv4", "time"]),
            "minimum": st.integers(-5, 5),
            "maximum": st.integers(-5, 5),
            "exclusiveMinimum": st.integers(-5, 5),
            "multipleOf": st.sampled_from([2, 3, 0.5, 0.1]),
            "enum": st.lists(
                st.one_of(st.integers(0, 3), st.text(max_size=2), st.none()), min_size=1
            ),
            "minItems": st.integers(0, 3),
            "maxItems": st.integers(0, 3),
            "uniqueItems": st.booleans(),
            "examples": st.lists(st.one_of(st.integers(), st.text(max_size=3)), max_size=2),
        },
    ),
)
_NAMES = st.sampled_from(["a", "b", "c"])


def _compose(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("object")},
            optional={
                "properties": st.dictionaries(_NAMES, inner, max_size=3),
                "required": st.lists(_NAMES, max_size=3, unique=True),
                "additionalProperties": st.one_of(st.booleans(), inner),
                "minProperties": st.integers(0, 3),
                "patternProperties": st.dictionaries(st.just("^x-"), inner, max_size=1),
            },
        ),
        st.fixed_dictionaries(
            {"type": st.just("array")},
            optional={
                "items": inner,
                "prefixItems": st.lists(inner, max_size=2),
                "contains": inner,
            },
        ),
        *(
            st.fixed_dictionaries({keyword: st.lists(inner, min_size=1, max_size=3)})
            for keyword in ("allOf", "oneOf", "anyOf")
        ),
        st.fixed_dictionaries({"if": inner, "then": inner}, optional={"else": inner}),
        st.fixed_dictionaries({"not": inner}),
    )


_SCHEMAS = st.recursive(_LEAVES, _compose, max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(_SCHEMAS, _SCHEMAS, _SCHEMAS, st.sampled_from(["3.0.3", "3.1.0"]), st.integers(0, 2))
def test_any_schema_gives_a_valid_value_or_no_sample(
    s: Any, a: Any, b: Any, openapi: str, variant: int
) -> None:
    schemas = _schemas({"S": s, "A": a, "B": b}, openapi)
    for direction in ("request", "response"):
        try:
            value = sample(schemas, "#/components/schemas/S", direction, variant=variant)
        except NoSample as exc:
            assert str(exc).startswith("#/")  # names a pointer
            continue
        assert schemas.validator("#/components/schemas/S", direction).is_valid(value)
