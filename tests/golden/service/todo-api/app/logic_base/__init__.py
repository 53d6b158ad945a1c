"""Generated bases of the custom logic modules (generation gap): app/logic/ holds the modules
people write, subclasses of these bases. Do not edit this package: regenerate."""

from __future__ import annotations

import inspect


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


def unimplemented(logic: object) -> list[str]:
    """The methods of ``logic``'s generated base that its class does not override."""
    cls = type(logic)
    base = next((b for b in cls.__mro__ if b.__name__.endswith("LogicBase")), None)
    if base is None:
        return []
    return sorted(
        name
        for name, member in vars(base).items()
        if inspect.iscoroutinefunction(member) and getattr(cls, name) is member
    )
