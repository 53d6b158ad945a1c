"""Generated base of the custom route handlers of `api`. Do not edit: regenerate.

Write the handlers in app/logic/api.py, a subclass of ApiLogicBase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..models import TodoStats
from . import LogicNotImplementedError

if TYPE_CHECKING:
    from ..system import System

MODULE = "app/logic/api.py"


class ApiLogicBase:
    """Custom route handlers of `api`; ``self.system`` gives the stores and ports."""

    def __init__(self, system: System) -> None:
        self.system = system

    async def get_todo_stats(
        self,
    ) -> TodoStats:
        """GET /v1/todos/stats (getTodoStats): Counts of todos by state and priority"""
        raise LogicNotImplementedError("api", "get_todo_stats", MODULE)
