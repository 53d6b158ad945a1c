"""CEL expressions for declarative logic: filter conditions, router ``when``, transformer
``set`` and timer ``payload`` values. Compiled once, evaluated without ``eval``.

The message is bound to ``msg`` (a timer's tick time to ``now``); results come back as plain
Python values (dict, list, str, int, float, bool, None).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import celpy


class ExpressionError(Exception):
    """An expression failed on a message (missing field, wrong type, not a boolean)."""


@cache
def _environment() -> celpy.Environment:
    return celpy.Environment()  # building the parser is the costly part: once per process


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, cls=celpy.CELJSONEncoder))


class Expression:
    def __init__(self, text: str) -> None:
        self.text = text
        env = _environment()
        self._program = env.program(env.compile(text))

    def evaluate(self, **variables: Any) -> Any:
        try:
            result = self._program.evaluate(
                {name: celpy.json_to_cel(value) for name, value in variables.items()}
            )
        except (ValueError, OverflowError) as exc:  # a value CEL cannot hold (int beyond 64 bits)
            raise ExpressionError(f"{self.text!r}: {exc}") from exc
        except celpy.CELEvalError as exc:
            raise ExpressionError(f"{self.text!r}: {exc.args[0] if exc.args else exc}") from exc
        if isinstance(result, celpy.CELEvalError):
            raise ExpressionError(f"{self.text!r}: {result.args[0] if result.args else result}")
        return _plain(result)

    def test(self, message: Any) -> bool:
        """For conditions: the result must be a boolean, never coerced."""
        result = self.evaluate(msg=message)
        if not isinstance(result, bool):
            raise ExpressionError(f"{self.text!r} gave {result!r}, not true or false")
        return result


def transform(
    assignments: Mapping[str, Expression], message: Mapping[str, Any], *, copy: bool = True
) -> dict[str, Any]:
    """A transformer step: optionally copy the input fields, then compute ``set`` fields."""
    out = dict(message) if copy else {}
    for field, expression in assignments.items():
        out[field] = expression.evaluate(msg=message)
    return out


def route(
    routes: Sequence[tuple[Expression, str]], default: str | None, message: Any
) -> str | None:
    """A router step: the first matching route's port, else ``default`` (None: dead letter)."""
    for condition, port in routes:
        if condition.test(message):
            return port
    return default
