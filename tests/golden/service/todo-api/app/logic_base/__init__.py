"""Generated bases of the custom logic modules (generation gap): app/logic/ holds the modules
people write, subclasses of these bases. Do not edit this package: regenerate."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


class LogicNotImplementedError(NotImplementedError):
    """Custom logic that nobody has written yet. The service answers 501 for such a route and a
    dataflow step sends the message to the dead letter; `autocoder validate` reports it."""

    def __init__(self, component: str, method: str, module: str) -> None:
        self.component = component
        self.method = method
        self.module = module
        super().__init__(
            f"custom logic of component {component!r} is not implemented: "
            f"write {method}() in {module}"
        )


def _not_overridden(logic: object) -> list[tuple[str, Any]]:
    """(name, method) of each coroutine method of ``logic``'s generated base that its class
    does not override."""
    cls = type(logic)
    base = next((b for b in cls.__mro__ if b.__name__.endswith("LogicBase")), None)
    if base is None:
        return []
    return sorted(
        (name, member)
        for name, member in vars(base).items()
        if inspect.iscoroutinefunction(member) and getattr(cls, name) is member
    )


def unimplemented(logic: object) -> list[str]:
    """The methods of ``logic``'s generated base that its class does not override (those in
    mock mode aside: they answer)."""
    return [n for n, m in _not_overridden(logic) if not getattr(m, "__autocoder_mock__", False)]


def mock_mode(method: F) -> F:
    """Marks a generated method that answers with its contract's example until overridden."""
    method.__autocoder_mock__ = True  # type: ignore[attr-defined]
    return method


def mocked(logic: object) -> list[str]:
    """The mock-mode methods of ``logic``'s generated base that its class does not override."""
    return [n for n, m in _not_overridden(logic) if getattr(m, "__autocoder_mock__", False)]
