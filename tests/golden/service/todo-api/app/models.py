"""Data types of todo-api, generated from its blueprint types. Do not edit: regenerate."""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def unique_items(values: list[Any]) -> list[Any]:
    """`uniqueItems`: the same value may not appear twice."""
    keys = [json.dumps(value, sort_keys=True, default=str) for value in values]
    if len(set(keys)) != len(keys):
        raise ValueError("items must be unique")
    return values


Priority = Annotated[
    Literal["low", "normal", "high", "urgent"], Field(description="How urgent a todo is.")
]


class Todo(BaseModel):
    """A todo as stored and returned by the API."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    assignee: (
        Annotated[str, Field(description="E-mail address of the person working on it.")] | None
    ) = None
    created_at: Annotated[
        datetime.datetime, Field(description="When the todo was created (set by the server).")
    ]
    done: Annotated[bool, Field(description="Whether the todo is finished.")] = False
    due_on: (
        Annotated[datetime.date, Field(description="The day the todo is due, if any.")] | None
    ) = None
    id: Annotated[uuid.UUID, Field(description="Server-assigned identifier.")]
    labels: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=32, pattern="^[a-z0-9][a-z0-9-]*$")]],
        Field(
            max_length=10,
            description="Lower-case labels such as `ops` or `q3-planning`.",
            json_schema_extra={"uniqueItems": True},
        ),
        AfterValidator(unique_items),
    ] = []
    notes: Annotated[str, Field(max_length=4000, description="Free-form details (Markdown).")] = ""
    priority: Priority = "normal"
    title: Annotated[str, Field(min_length=1, max_length=200, description="What has to be done.")]
    updated_at: Annotated[
        datetime.datetime, Field(description="When the todo last changed (set by the server).")
    ]


class TodoCreate(BaseModel):
    """The body of `POST /todos`; the server sets id and timestamps."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    assignee: str | None = None
    done: bool | None = None
    due_on: datetime.date | None = None
    labels: (
        Annotated[
            list[
                Annotated[str, Field(min_length=1, max_length=32, pattern="^[a-z0-9][a-z0-9-]*$")]
            ],
            Field(max_length=10, json_schema_extra={"uniqueItems": True}),
            AfterValidator(unique_items),
        ]
        | None
    ) = None
    notes: Annotated[str, Field(max_length=4000)] | None = None
    priority: Priority | None = None
    title: Annotated[str, Field(min_length=1, max_length=200)]


class TodoPatch(BaseModel):
    """The body of `PATCH /todos/{id}`; only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    assignee: str | None = None
    done: bool | None = None
    due_on: datetime.date | None = None
    labels: (
        Annotated[
            list[
                Annotated[str, Field(min_length=1, max_length=32, pattern="^[a-z0-9][a-z0-9-]*$")]
            ],
            Field(max_length=10, json_schema_extra={"uniqueItems": True}),
            AfterValidator(unique_items),
        ]
        | None
    ) = None
    notes: Annotated[str, Field(max_length=4000)] | None = None
    priority: Priority | None = None
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class TodoStats(BaseModel):
    """Counts over all todos, computed by the custom handler of `getTodoStats`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    by_priority: Annotated[dict[str, Any], Field(description="Open todos per priority.")]
    done: Annotated[int, Field(ge=0, description="Finished todos.")]
    open: Annotated[int, Field(ge=0, description="Todos still to do.")]
    overdue: Annotated[int, Field(ge=0, description="Open todos whose due date has passed.")]
    total: Annotated[int, Field(ge=0, description="All todos.")]


class TodoMessage(Todo):
    """Todo as a message between components: the fields the server sets
    (readOnly) may be absent until a store fills them."""

    created_at: (
        Annotated[
            datetime.datetime, Field(description="When the todo was created (set by the server).")
        ]
        | None
    ) = None
    id: Annotated[uuid.UUID, Field(description="Server-assigned identifier.")] | None = None
    updated_at: (
        Annotated[
            datetime.datetime, Field(description="When the todo last changed (set by the server).")
        ]
        | None
    ) = None


Todo.model_rebuild()
TodoCreate.model_rebuild()
TodoPatch.model_rebuild()
TodoStats.model_rebuild()
