"""Structural type compatibility (``autocoder.ir.typesys.incompatibility``), case by case.

Each case is (source type, target type, the reason or None when the source fits the target).
"""

from __future__ import annotations

from typing import Any

import pytest

from autocoder.ir.models import TypeDef
from autocoder.ir.typesys import field_incompatibility, incompatibility, write_exempt_fields


def _types(**schemas: dict[str, Any]) -> dict[str, TypeDef]:
    return {
        name: TypeDef(
            id=f"type:{name}", name=name, origin=f"architecture.yaml#/types/{name}", schema=s
        )
        for name, s in schemas.items()
    }


TYPES = _types(
    Order={
        "properties": {
            "id": {"type": "string"},
            "qty": {"type": "integer"},
            "note": {"type": "string"},
            "status": {"type": "string", "enum": ["new", "paid", "void"]},
        },
        "required": ["id", "qty", "status"],
    },
    Invoice={
        "properties": {"id": {"type": "string"}, "amount": {"type": "number"}},
        "required": ["id", "amount"],
    },
    QtyAsNumber={"properties": {"qty": {"type": "number"}}, "required": ["qty"]},
    QtyAsString={"properties": {"qty": {"type": "string"}}},
    NeedsNote={"properties": {"note": {"type": "string"}}, "required": ["note"]},
    NoteDefaulted={"properties": {"note": {"type": "string", "default": ""}}},
    PaidOrNew={"properties": {"status": {"type": "string", "enum": ["new", "paid"]}}},
    AnyStatus={"properties": {"status": {"type": "string"}}},
    Status={"type": "string", "enum": ["new", "paid"]},
    Wide={"type": "string", "enum": ["new", "paid", "void"]},
    OneTwo={"type": "integer", "enum": [1, 2]},
    OneTwoFloat={"type": "number", "enum": [1.0, 2.0]},
    TrueOnly={"type": "boolean", "enum": [True]},
    OneOnly={"type": "integer", "enum": [1]},
    Fixed={"properties": {"kind": {"type": "string", "const": "order"}}},
    KindEnum={"properties": {"kind": {"type": "string", "enum": ["order", "refund"]}}},
    KindConst={"properties": {"kind": {"type": "string", "const": "refund"}}},
    Deep={"properties": {"a": {"properties": {"b": {"properties": {"c": {"type": "string"}}}}}}},
    DeepInt={
        "properties": {"a": {"properties": {"b": {"properties": {"c": {"type": "integer"}}}}}}
    },
    Nullable={"properties": {"coupon": {"type": "string", "nullable": True}}},
    NotNull={"properties": {"coupon": {"type": "string"}}},
    AnyCoupon={"properties": {"coupon": {"type": "any"}}},
    Orders={"type": "array", "items": {"type": "Order"}},
    Invoices={"type": "array", "items": {"type": "Invoice"}},
    Notes={"type": "array", "items": {"type": "NeedsNote"}},
    OrderAlias={"type": "Order"},
    Node={
        "properties": {"value": {"type": "integer"}, "next": {"type": "Node"}},
        "required": ["value"],
    },
    NumberNode={
        "properties": {"value": {"type": "number"}, "next": {"type": "NumberNode"}},
        "required": ["value"],
    },
    StringNode={
        "properties": {"value": {"type": "string"}, "next": {"type": "StringNode"}},
        "required": ["value"],
    },
    Loose={"properties": {"x": {"type": "Missing"}}},
    Stored={
        "properties": {
            "id": {"type": "string", "readOnly": True},
            "name": {"type": "string"},
            "pinned": {"type": "boolean", "default": False},
        },
        "required": ["id", "name", "pinned"],
    },
    StoredInput={"properties": {"name": {"type": "string"}}, "required": ["name"]},
)


@pytest.mark.parametrize(
    ("src", "dst", "reason"),
    [
        # identity and built-ins
        ("Order", "Order", None),
        ("string", "string", None),
        ("integer", "number", None),
        ("number", "integer", "number is not integer"),
        ("string", "object", "string is not object"),
        ("Order", "string", "object is not string"),
        ("Order", "any", None),
        ("any", "Order", None),
        ("Order", "object", None),
        # a named alias is its target
        ("OrderAlias", "Order", None),
        ("Order", "OrderAlias", None),
        # required fields: missing, optional in the source, or filled by a default
        ("Order", "Invoice", "required field 'amount' is missing"),
        ("Order", "NeedsNote", "field 'note' is optional in the source but required in the target"),
        ("NoteDefaulted", "NeedsNote", None),
        # field types: integer widens to number, never the reverse
        ("Order", "QtyAsNumber", None),
        ("QtyAsNumber", "Order", "required field 'id' is missing"),
        ("Order", "QtyAsString", "integer is not string at field 'qty'"),
        # enums narrow: every source value must be accepted by the target
        ("Order", "PaidOrNew", "enum values ['void'] are not accepted at field 'status'"),
        ("PaidOrNew", "Order", "required field 'id' is missing"),
        ("PaidOrNew", "AnyStatus", None),
        (
            "AnyStatus",
            "PaidOrNew",
            "values are not restricted to ['new', 'paid'] at field 'status'",
        ),
        ("Status", "Wide", None),
        ("Wide", "Status", "enum values ['void'] are not accepted"),
        ("string", "Status", "values are not restricted to ['new', 'paid']"),
        # JSON equality of enum values: 1 == 1.0, but true is not 1
        ("OneTwo", "OneTwoFloat", None),
        ("TrueOnly", "OneOnly", "boolean is not integer"),
        # const is an enum of one value
        ("Fixed", "KindEnum", None),
        ("KindEnum", "Fixed", "enum values ['refund'] are not accepted at field 'kind'"),
        ("KindConst", "Fixed", "enum values ['refund'] are not accepted at field 'kind'"),
        # inline nested objects are compared at every depth
        ("Deep", "DeepInt", "string is not integer at field 'a.b.c'"),
        ("DeepInt", "Deep", "integer is not string at field 'a.b.c'"),
        # null may only flow where null is accepted
        (
            "Nullable",
            "NotNull",
            "values may be null in the source but not in the target at field 'coupon'",
        ),
        ("NotNull", "Nullable", None),
        ("Nullable", "AnyCoupon", None),
        # arrays compare their items
        ("Orders", "Orders", None),
        ("Orders", "Invoices", "required field '[].amount' is missing"),
        ("Orders", "Notes", "field '[].note' is optional in the source but required in the target"),
        ("Orders", "Order", "array is not object"),
        # recursive types terminate and still compare their fields
        ("Node", "Node", None),
        ("Node", "NumberNode", None),
        ("Node", "StringNode", "integer is not string at field 'value'"),
        # unknown names are reported by check_types; here they must not cascade
        ("Missing", "Order", None),
        ("Order", "Missing", None),
        ("Loose", "Loose", None),
    ],
)
def test_incompatibility(src: str, dst: str, reason: str | None) -> None:
    assert incompatibility(src, dst, TYPES) == reason


def test_exempt_fields_need_not_come_from_the_source() -> None:
    exempt = write_exempt_fields("Stored", "id", "uuid", TYPES)
    assert exempt == {"id", "pinned"}
    assert incompatibility("StoredInput", "Stored", TYPES, exempt=exempt) is None
    assert incompatibility("StoredInput", "Stored", TYPES) == "required field 'id' is missing"


def test_a_provided_key_must_come_from_the_writer() -> None:
    exempt = write_exempt_fields("Stored", "name", "provided", TYPES)
    assert "name" not in exempt
    assert incompatibility("NeedsNote", "Stored", TYPES, exempt=exempt) == (
        "required field 'name' is missing"
    )


@pytest.mark.parametrize(
    ("src", "dst", "reason"),
    [
        ({"type": "integer"}, {"type": "number"}, None),
        (
            {"type": "string", "enum": ["a", "b"]},
            {"type": "string", "enum": ["a"]},
            ("enum values ['b'] are not accepted"),
        ),
        ({"type": "Order"}, {"type": "Invoice"}, "required field 'amount' is missing"),
        (
            {"type": "string", "nullable": True},
            {"type": "string"},
            ("values may be null in the source but not in the target"),
        ),
    ],
)
def test_field_incompatibility(
    src: dict[str, Any], dst: dict[str, Any], reason: str | None
) -> None:
    assert field_incompatibility(src, dst, TYPES) == reason
