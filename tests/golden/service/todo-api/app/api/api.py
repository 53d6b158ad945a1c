"""HTTP routes of `api`: The public HTTP API of the todo list.
Generated from the blueprint; do not edit: regenerate. Custom handlers live in
app/logic/api.py."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from ..models import Todo, TodoCreate, TodoPatch, TodoStats
from ..runtime import RateLimiter
from ..runtime.http import api_key_auth, error_responses
from ..system import System


class TodoPage(BaseModel):
    """One page of Todo items; pass `next_cursor` as `cursor` for the next one."""

    model_config = ConfigDict(extra="forbid")

    items: list[Todo]
    next_cursor: str | None = Field(
        default=None, description="Cursor of the next page; null on the last page."
    )


def get_system(request: Request) -> System:
    system: System = request.app.state.system
    return system


SystemDep = Annotated[System, Depends(get_system)]
authenticate = api_key_auth("X-API-Key")
_limiter = RateLimiter(50, 1.0, 100)


async def rate_limit() -> None:
    """The component's rate limit: requests beyond it wait (and time out as 504)."""
    await _limiter.acquire()


router = APIRouter(dependencies=[Depends(rate_limit)])


@router.post(
    "/v1/todos",
    operation_id="createTodo",
    summary="Create a todo",
    tags=["todos"],
    status_code=201,
    response_model=Todo,
    responses=error_responses(401, 409, 413, 422),
    dependencies=[Depends(authenticate)],
)
async def create_todo(
    body: TodoCreate,
    system: SystemDep,
) -> Todo:
    row = await system.stores.todos.create(body.model_dump(by_alias=True, exclude_unset=True))
    result = Todo.model_validate(row)
    return result


@router.get(
    "/v1/todos",
    operation_id="listTodos",
    summary="List todos",
    description="One page of todos. Filter by equality on `done`, `priority` and `assignee` (the store's `filters`); follow `next_cursor` for the next page.\n",
    tags=["todos"],
    status_code=200,
    response_model=TodoPage,
    responses=error_responses(400, 401, 422),
    dependencies=[Depends(authenticate)],
)
async def list_todos(
    system: SystemDep,
    *,
    done: Annotated[bool | None, Query()] = None,
    priority: Annotated[Literal["low", "normal", "high", "urgent"] | None, Query()] = None,
    assignee: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query(ge=1, le=200, description="Page size (default 50).")] = None,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> TodoPage:
    page = await system.stores.todos.list(
        filters={
            "done": done,
            "priority": priority,
            "assignee": assignee,
        },
        limit=limit,
        cursor=cursor,
    )
    result = TodoPage(
        items=[Todo.model_validate(item) for item in page.items],
        next_cursor=page.next_cursor,
    )
    return result


@router.get(
    "/v1/todos/stats",
    operation_id="getTodoStats",
    summary="Counts of todos by state and priority",
    tags=["todos"],
    status_code=200,
    response_model=TodoStats,
    responses=error_responses(401, 501),
    dependencies=[Depends(authenticate)],
)
async def get_todo_stats(
    system: SystemDep,
) -> TodoStats:
    return await system.logic.api.get_todo_stats()


@router.get(
    "/v1/todos/{id}",
    operation_id="getTodo",
    summary="Get one todo",
    tags=["todos"],
    status_code=200,
    response_model=Todo,
    responses=error_responses(401, 404, 422),
    dependencies=[Depends(authenticate)],
)
async def get_todo(
    id: Annotated[uuid.UUID, Path()],
    system: SystemDep,
) -> Todo:
    row = await system.stores.todos.get(id)
    result = Todo.model_validate(row)
    return result


@router.patch(
    "/v1/todos/{id}",
    operation_id="updateTodo",
    summary="Change some fields of a todo",
    tags=["todos"],
    status_code=200,
    response_model=Todo,
    responses=error_responses(401, 404, 409, 413, 422),
    dependencies=[Depends(authenticate)],
)
async def update_todo(
    id: Annotated[uuid.UUID, Path()],
    body: TodoPatch,
    system: SystemDep,
) -> Todo:
    row = await system.stores.todos.update(id, body.model_dump(by_alias=True, exclude_unset=True))
    result = Todo.model_validate(row)
    return result


@router.delete(
    "/v1/todos/{id}",
    operation_id="deleteTodo",
    summary="Delete a todo",
    tags=["todos"],
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 404, 422),
    dependencies=[Depends(authenticate)],
)
async def delete_todo(
    id: Annotated[uuid.UUID, Path()],
    system: SystemDep,
) -> Response:
    await system.stores.todos.delete(id)
    return Response(status_code=204)
