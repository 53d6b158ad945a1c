"""Custom logic of `api`: the hand-written handler of `GET /v1/todos/stats`.

`autocoder generate` copies this file to service/app/logic/api.py once; from then on the copy
in the service is the one to edit (it is never overwritten).
"""

from __future__ import annotations

import datetime

from ..logic_base.api import ApiLogicBase
from ..models import TodoStats


class ApiLogic(ApiLogicBase):
    async def get_todo_stats(self) -> TodoStats:
        store = self.system.stores.todos
        today = datetime.datetime.now(datetime.UTC).date()
        total = done = overdue = 0
        by_priority: dict[str, int] = {}
        cursor: str | None = None
        while True:
            page = await store.list(limit=store.max_page_size, cursor=cursor)
            for todo in page.items:
                total += 1
                if todo["done"]:
                    done += 1
                    continue
                by_priority[todo["priority"]] = by_priority.get(todo["priority"], 0) + 1
                if todo["due_on"] is not None and todo["due_on"] < today:
                    overdue += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return TodoStats(
            total=total, done=done, open=total - done, overdue=overdue, by_priority=by_priority
        )
