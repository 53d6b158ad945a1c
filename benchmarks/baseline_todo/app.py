"""A hand-written todo service: the baseline of ``benchmarks/service_throughput.py``.

FastAPI + SQLAlchemy 2 (async ORM over aiosqlite), written the ordinary way, with the routes,
status codes, fields and constraints of ``examples/todo-api``. The database gets the same
SQLite settings as the generated service (WAL, ``synchronous=NORMAL``).

    cd benchmarks/baseline_todo
    API_KEYS=secret DATABASE_URL=sqlite:///todos.db uvicorn --factory app:create_app
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response, Security
from fastapi.security import APIKeyHeader
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# ----------------------------------------------------------------------------------- database


class Base(DeclarativeBase):
    pass


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timezone-aware datetime; SQLite gives naive values back, which are UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value  # type: ignore[no-any-return]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class TodoRow(Base):
    __tablename__ = "todos"
    __table_args__ = (sa.Index("ix_todos_done_priority", "done", "priority"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    title: Mapped[str] = mapped_column(sa.String(200))
    notes: Mapped[str] = mapped_column(sa.String(4000), default="")
    priority: Mapped[str] = mapped_column(sa.String(6), default="normal")
    done: Mapped[bool] = mapped_column(default=False)
    due_on: Mapped[dt.date | None] = mapped_column(index=True)
    assignee: Mapped[str | None] = mapped_column(sa.Text, index=True)
    labels: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# ------------------------------------------------------------------------------------- models

Priority = Literal["low", "normal", "high", "urgent"]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Notes = Annotated[str, Field(max_length=4000)]
Label = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Labels = Annotated[list[Label], Field(max_length=10)]


def unique_labels(labels: list[str] | None) -> list[str] | None:
    if labels is not None and len(set(labels)) != len(labels):
        raise ValueError("labels must be unique")
    return labels


class Todo(BaseModel):
    """A todo as returned by the API."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: Title
    notes: Notes = ""
    priority: Priority = "normal"
    done: bool = False
    due_on: dt.date | None = None
    assignee: str | None = None  # format: email is documented, not checked
    labels: Labels = []
    created_at: dt.datetime
    updated_at: dt.datetime


class TodoCreate(BaseModel):
    """The body of ``POST /v1/todos``."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    notes: Notes = ""
    priority: Priority = "normal"
    done: bool = False
    due_on: dt.date | None = None
    assignee: str | None = None
    labels: Labels = []

    _unique_labels = field_validator("labels")(unique_labels)


class TodoPatch(BaseModel):
    """The body of ``PATCH /v1/todos/{id}``: only the fields sent are changed."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    notes: Notes | None = None
    priority: Priority | None = None
    done: bool | None = None
    due_on: dt.date | None = None
    assignee: str | None = None
    labels: Labels | None = None

    _unique_labels = field_validator("labels")(unique_labels)

    @field_validator("title", "notes", "priority", "done", "labels")
    @classmethod
    def not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null")
        return value


class TodoPage(BaseModel):
    items: list[Todo]
    next_cursor: str | None = None


# ---------------------------------------------------------------------------- dependencies

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


async def require_api_key(
    request: Request, key: Annotated[str | None, Security(api_key_header)]
) -> None:
    keys: list[bytes] = request.app.state.api_keys
    provided = (key or "").encode()
    matched = False
    for candidate in keys:
        matched |= hmac.compare_digest(candidate, provided)
    if not key or not matched:
        raise HTTPException(401, "invalid or missing API key", {"WWW-Authenticate": "ApiKey"})


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]

# --------------------------------------------------------------------------------- routes

router = APIRouter(prefix="/v1/todos", tags=["todos"], dependencies=[Depends(require_api_key)])


async def get_or_404(session: AsyncSession, todo_id: uuid.UUID) -> TodoRow:
    todo = await session.get(TodoRow, todo_id)
    if todo is None:
        raise HTTPException(404, f"no todo with id {todo_id}")
    return todo


@router.post("", status_code=201, response_model=Todo)
async def create_todo(body: TodoCreate, session: SessionDep) -> TodoRow:
    now = utcnow()
    todo = TodoRow(**body.model_dump(), created_at=now, updated_at=now)
    session.add(todo)
    await session.commit()
    return todo


@router.get("", response_model=TodoPage)
async def list_todos(
    session: SessionDep,
    done: bool | None = None,
    priority: Priority | None = None,
    assignee: str | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: uuid.UUID | None = None,
) -> TodoPage:
    query = sa.select(TodoRow).order_by(TodoRow.id).limit(limit + 1)
    if done is not None:
        query = query.where(TodoRow.done == done)
    if priority is not None:
        query = query.where(TodoRow.priority == priority)
    if assignee is not None:
        query = query.where(TodoRow.assignee == assignee)
    if cursor is not None:
        query = query.where(TodoRow.id > cursor)
    rows = list(await session.scalars(query))
    next_cursor = str(rows[limit - 1].id) if len(rows) > limit else None
    return TodoPage(
        items=[Todo.model_validate(row) for row in rows[:limit]], next_cursor=next_cursor
    )


@router.get("/{todo_id}", response_model=Todo)
async def get_todo(todo_id: uuid.UUID, session: SessionDep) -> TodoRow:
    return await get_or_404(session, todo_id)


@router.patch("/{todo_id}", response_model=Todo)
async def update_todo(todo_id: uuid.UUID, body: TodoPatch, session: SessionDep) -> TodoRow:
    todo = await get_or_404(session, todo_id)
    changes = body.model_dump(exclude_unset=True)
    if changes:
        for name, value in changes.items():
            setattr(todo, name, value)
        todo.updated_at = utcnow()
        await session.commit()
    return todo


@router.delete("/{todo_id}", status_code=204)
async def delete_todo(todo_id: uuid.UUID, session: SessionDep) -> Response:
    todo = await get_or_404(session, todo_id)
    await session.delete(todo)
    await session.commit()
    return Response(status_code=204)


# ------------------------------------------------------------------------------------ app


def create_app() -> FastAPI:
    """The app, configured from ``DATABASE_URL`` (``sqlite:///path``) and ``API_KEYS``."""
    url = os.environ.get("DATABASE_URL", "sqlite:///todos.db")
    engine = create_async_engine(url.replace("sqlite://", "sqlite+aiosqlite://", 1))
    sa.event.listen(engine.sync_engine, "connect", sqlite_pragmas)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        yield
        await engine.dispose()

    app = FastAPI(title="Todo API", lifespan=lifespan)
    app.state.sessions = async_sessionmaker(engine, expire_on_commit=False)
    app.state.api_keys = [
        key.strip().encode() for key in os.environ.get("API_KEYS", "").split(",") if key.strip()
    ]
    app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
