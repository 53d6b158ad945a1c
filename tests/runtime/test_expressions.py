"""CEL evaluation for filters, routers, transformers: plain values in and out, clear errors."""

from __future__ import annotations

import pytest

from autocoder.runtime import Expression, ExpressionError, route, transform

ORDER = {"id": "o1", "total": 12.5, "priority": "express", "lines": [{"qty": 2}, {"qty": 1}]}


def test_conditions_are_booleans() -> None:
    assert Expression("msg.total > 0.0 && msg.lines.all(l, l.qty > 0)").test(ORDER) is True
    assert Expression("msg.priority == 'standard'").test(ORDER) is False
    with pytest.raises(ExpressionError, match="not true or false"):
        Expression("msg.total").test(ORDER)


def test_missing_fields_are_errors_not_false() -> None:
    with pytest.raises(ExpressionError, match="missing"):
        Expression("msg.missing > 1").test(ORDER)


def test_transform_copies_then_sets() -> None:
    out = transform(
        {"total": Expression("msg.total * 2.0"), "items": Expression("size(msg.lines)")},
        ORDER,
    )
    assert out["total"] == 25.0 and out["items"] == 2 and out["id"] == "o1"
    only = transform({"id": Expression("msg.id")}, ORDER, copy=False)
    assert only == {"id": "o1"}


def test_route_picks_the_first_match_or_the_default() -> None:
    routes = [
        (Expression("msg.total > 100.0"), "big"),
        (Expression("msg.priority == 'express'"), "fast"),
    ]
    assert route(routes, "rest", ORDER) == "fast"
    assert route(routes, "rest", {**ORDER, "priority": "standard"}) == "rest"
    assert route(routes, None, {**ORDER, "priority": "standard"}) is None


def test_results_are_plain_python() -> None:
    value = Expression('{"n": msg.lines.map(l, l.qty), "ok": true}').evaluate(msg=ORDER)
    assert value == {"n": [2, 1], "ok": True}
    assert type(value["n"][0]) is int


def test_a_value_cel_cannot_hold_is_an_expression_error() -> None:
    with pytest.raises(ExpressionError):
        Expression("msg.n > 0").test({"n": 2**64})
