"""Contract operations backed by a document collection: create, get, list, replace, patch and
delete handlers for ``runtime.contract``.

A handler turns the validated ``Call`` into one ``DocumentStore`` operation and puts the
stored document(s) where the contract's response schema wants them. That placement is worked
out when the service is generated (``Shape``): the document is the body, or one member of it;
a list is the body, or one member of an object whose other members are a total count, a next
cursor, or values fixed at generation time. How the list's query parameters page and filter
is a ``Paging``.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from .contract import Call, Reply
from .documents import DocumentStore

Handler = Callable[[Call], Awaitable[Reply]]


@dataclass(frozen=True)
class Shape:
    """Where documents go in a reply body.

    ``kind``: ``document`` (the body is the document), ``member`` (the body is an object and
    the document is its member ``member``), ``list`` (the body is the list of documents, or an
    object holding it in ``member``), ``empty`` (no body), ``fixed`` (the body is ``fixed``
    itself: the contract's schema has no place for the document)."""

    kind: Literal["document", "member", "list", "empty", "fixed"]
    member: str | None = None
    total: str | None = None  # list: the member holding the count of all matching documents
    cursor: str | None = None  # list: the member holding the next page's cursor (or null)
    fixed: Mapping[str, Any] = field(default_factory=dict)  # other members, fixed values
    body: Any = None  # kind "fixed": the whole body

    def wrap(self, value: Any, *, total: int | None = None, cursor: str | None = None) -> Any:
        if self.kind == "empty":
            return None
        if self.kind == "fixed":
            return copy.deepcopy(self.body)
        if self.member is None:
            return value
        body: dict[str, Any] = copy.deepcopy(dict(self.fixed))
        body[self.member] = value
        if self.total is not None:
            body[self.total] = total if total is not None else 0
        if self.cursor is not None:
            body[self.cursor] = cursor
        return body


@dataclass(frozen=True)
class Paging:
    """The list operation's query parameters by role (their names in the contract)."""

    limit: str | None = None
    offset: str | None = None
    page: str | None = None  # 1-based page number
    cursor: str | None = None
    filters: Mapping[str, str] = field(default_factory=dict)  # query parameter -> document field
    default_limit: int = 50


@dataclass(frozen=True)
class Answer:
    """The documented success reply of an operation."""

    status: int
    media_type: str | None
    shape: Shape

    def reply(self, value: Any, **extra: Any) -> Reply:
        body = self.shape.wrap(value, **extra)
        if self.shape.kind == "empty" or self.status in (204, 304):
            return Reply(self.status)
        return Reply(self.status, body, self.media_type)


@dataclass(frozen=True)
class ServerFields:
    """The document's ``readOnly`` members the server sets: timestamps set at creation
    (``created``) or at every write (``touched``), and others given a fixed value at creation
    (``fixed``). A replace keeps what the server set; the client cannot overwrite them."""

    created: tuple[str, ...] = ()
    touched: tuple[str, ...] = ()
    fixed: Mapping[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.created, *self.touched, *self.fixed)

    def on_create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        doc = {k: v for k, v in body.items() if k not in self.names}
        now = _now()
        for name in (*self.created, *self.touched):
            doc[name] = now
        for name, value in self.fixed.items():
            doc[name] = copy.deepcopy(value)
        return doc

    def on_replace(self, old: Mapping[str, Any], body: Mapping[str, Any]) -> dict[str, Any]:
        doc = {k: v for k, v in body.items() if k not in self.names}
        for name in (*self.created, *self.fixed):
            if name in old:
                doc[name] = old[name]
        now = _now()
        for name in self.touched:
            doc[name] = now
        return doc

    def on_patch(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        patch = {k: v for k, v in changes.items() if k not in self.names}
        now = _now()
        for name in self.touched:
            patch[name] = now
        return patch


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _key(call: Call, param: str) -> Any:
    return call.path.get(param)


def create_handler(
    store: DocumentStore, answer: Answer, *, server: ServerFields | None = None
) -> Handler:
    server = server or ServerFields()

    async def handle(call: Call) -> Reply:
        body = call.body if isinstance(call.body, Mapping) else {}
        return answer.reply(await store.create(server.on_create(body)))

    return handle


def get_handler(store: DocumentStore, answer: Answer, *, key_param: str) -> Handler:
    async def handle(call: Call) -> Reply:
        return answer.reply(await store.get(_key(call, key_param)))

    return handle


def replace_handler(
    store: DocumentStore, answer: Answer, *, key_param: str, server: ServerFields | None = None
) -> Handler:
    server = server or ServerFields()

    async def handle(call: Call) -> Reply:
        body = call.body if isinstance(call.body, Mapping) else {}
        key = _key(call, key_param)
        if server.names:
            body = server.on_replace(await store.get(key), body)
        return answer.reply(await store.replace(key, body))

    return handle


def patch_handler(
    store: DocumentStore, answer: Answer, *, key_param: str, server: ServerFields | None = None
) -> Handler:
    server = server or ServerFields()

    async def handle(call: Call) -> Reply:
        changes = call.body if isinstance(call.body, Mapping) else {}
        return answer.reply(await store.patch(_key(call, key_param), server.on_patch(changes)))

    return handle


def delete_handler(store: DocumentStore, answer: Answer, *, key_param: str) -> Handler:
    async def handle(call: Call) -> Reply:
        return answer.reply(await store.delete(_key(call, key_param)))

    return handle


def list_handler(store: DocumentStore, answer: Answer, paging: Paging) -> Handler:
    async def handle(call: Call) -> Reply:
        query = call.query
        limit = query.get(paging.limit) if paging.limit else None
        limit = limit if isinstance(limit, int) and limit > 0 else paging.default_limit
        limit = min(limit, store.max_limit)
        offset = query.get(paging.offset) if paging.offset else None
        offset = offset if isinstance(offset, int) and offset >= 0 else 0
        page = query.get(paging.page) if paging.page else None
        if isinstance(page, int) and page > 1:
            offset += (page - 1) * limit
        cursor = query.get(paging.cursor) if paging.cursor else None
        filters = {
            field_name: query[param]
            for param, field_name in paging.filters.items()
            if query.get(param) is not None
        }
        found = await store.list(
            filters=filters,
            limit=limit,
            offset=offset,
            cursor=cursor if isinstance(cursor, str) and cursor else None,
        )
        total = await store.count(filters=filters) if answer.shape.total else None
        return answer.reply(found.items, total=total, cursor=found.next_cursor)

    return handle


__all__ = [
    "Answer",
    "Paging",
    "ServerFields",
    "Shape",
    "create_handler",
    "delete_handler",
    "get_handler",
    "list_handler",
    "patch_handler",
    "replace_handler",
]
