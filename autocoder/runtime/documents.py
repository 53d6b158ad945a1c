"""A document store for resources imported from OpenAPI: each resource is one JSON document
kept under its key, so any schema (nested objects, ``oneOf``, arrays, free-form objects) fits
one table of ``key``, ``doc``, ``created_at`` and ``updated_at``.

``document_table`` declares such a table on the service's ``MetaData`` (so Alembic sees it) and
``DocumentStore`` gives the CRUD of a collection over it: create, get, replace (PUT), JSON Merge
Patch (PATCH, RFC 7386), delete, list (equality filters on top-level members, done in SQL, and
keyset or offset paging) and count. It builds on ``store.py``: the same ``Database``, errors,
``Page``, cursor format and UTC clock. The stored document always holds its key member; the
timestamps are columns, never document members.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .store import (
    Clock,
    Database,
    InvalidQuery,
    KeyStrategy,
    NotFound,
    Page,
    _coerce_integer,
    _coerce_string,
    _first_line,
    _integrity_error,
    _Invalid,
    _jsonable,
    _to_utc,
    _utc_now,
    connection,
    decode_cursor,
    encode_cursor,
)

__all__ = ["DocumentStore", "document_table", "merge_patch"]

KeyType = Literal["string", "integer"]

_COLUMNS = ("key", "doc", "created_at", "updated_at")
_KEY_LENGTH = 255
_INT64 = 2**63
# The JSON types (json_each on SQLite, json_typeof on PostgreSQL) a filter value may match.
_SQLITE_TYPES = {"string": ("text",), "number": ("integer", "real")}


def document_table(metadata: sa.MetaData, name: str, *, key_type: KeyType) -> sa.Table:
    """The table of one document collection: ``key`` (primary key), ``doc`` (the JSON
    document), ``created_at`` and ``updated_at``.

    Integer keys are a ``BIGINT`` identity on PostgreSQL and an ``INTEGER PRIMARY KEY
    AUTOINCREMENT`` on SQLite, so the key of a deleted resource is never handed out again.
    """
    key: sa.Column[Any]
    if key_type == "string":
        key = sa.Column("key", sa.String(_KEY_LENGTH), primary_key=True)
        options: dict[str, Any] = {}
    elif key_type == "integer":
        key = sa.Column(
            "key",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        )
        options = {"sqlite_autoincrement": True}
    else:
        raise ValueError(f"{name}: unknown key type {key_type!r} (expected string or integer)")
    return sa.Table(
        name,
        metadata,
        key,
        sa.Column("doc", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        **options,
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON Merge Patch: objects merge recursively, ``None`` (null) deletes a member,
    any other value (arrays included) replaces. Neither argument is modified; the result may
    share the parts the patch leaves alone."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for name, value in patch.items():
        if value is None:
            result.pop(name, None)
        else:
            result[name] = merge_patch(result.get(name), value)
    return result


class DocumentStore:
    """CRUD over one ``document_table``; documents are JSON objects (``dict``).

    ``key_field`` is the document member holding the key. ``key_strategy``: ``provided``
    requires it in the created document, ``uuid`` sets a new uuid4 string (string keys),
    ``autoincrement`` lets the database assign an integer (integer keys). Keys from URLs are
    strings: an integer table coerces them, and one that is not a number is ``NotFound``.
    """

    max_limit = 1000

    def __init__(
        self,
        database: Database,
        table: sa.Table,
        *,
        key_field: str,
        key_strategy: KeyStrategy,
        clock: Clock = _utc_now,
    ) -> None:
        missing = [c for c in _COLUMNS if c not in table.c]
        if missing:
            raise ValueError(f"{table.name}: not a document table, missing {', '.join(missing)}")
        if not isinstance(key_field, str) or not key_field:
            raise ValueError(f"{table.name}: key_field must be a non-empty string")
        key_type: KeyType = "integer" if isinstance(table.c["key"].type, sa.Integer) else "string"
        wanted = {"uuid": "string", "autoincrement": "integer"}
        if key_strategy not in ("provided", "uuid", "autoincrement"):
            raise ValueError(f"{table.name}: unknown key strategy {key_strategy!r}")
        if wanted.get(key_strategy, key_type) != key_type:
            raise ValueError(
                f"{table.name}: the {key_strategy} key strategy needs {wanted[key_strategy]} keys"
            )
        self.database = database
        self.table = table
        self.key_field = key_field
        self.key_strategy: KeyStrategy = key_strategy
        self.key_type: KeyType = key_type
        self.clock = clock
        self._coerce_key: Callable[[Any], Any] = (
            _coerce_integer(64) if key_type == "integer" else _coerce_string(_KEY_LENGTH)
        )
        self._key = table.c["key"]
        self._doc = table.c["doc"]
        key_param: sa.BindParameter[Any] = sa.bindparam("document_key_")
        self._key_param = key_param.key
        self._insert = table.insert().returning(self._key)
        self._update = table.update().where(self._key == key_param)
        self._replace = self._update.returning(self._key)
        self._lock = self._update.returning(self._doc)
        self._select_one = sa.select(self._doc).where(self._key == key_param)
        self._delete = table.delete().where(self._key == key_param).returning(self._doc)

    async def create(self, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Store a new document; returns it with its key member set."""
        body = self._document(doc)
        now = self._now()
        values = {"doc": body, "created_at": now, "updated_at": now}
        if self.key_strategy == "autoincrement":
            # the key comes from the INSERT and goes into the document in the same transaction
            body.pop(self.key_field, None)
            async with self._writing(self.database.engine) as conn:
                key = (await conn.execute(self._insert, values)).scalar_one()
                body = _with_key(body, self.key_field, key)
                await conn.execute(self._update, {"doc": body, self._key_param: key})
            return body
        if self.key_strategy == "uuid":
            key = str(uuid.uuid4())
        else:
            key = self._provided_key(body.get(self.key_field))
        body = _with_key(body, self.key_field, key)
        async with self._writing(self.database.statement_engine) as conn:
            await conn.execute(self._insert, {**values, "doc": body, "key": key})
        return body

    async def get(self, key: Any) -> dict[str, Any]:
        """The document under ``key``; ``NotFound`` if there is none (or the key is malformed)."""
        key_value = self._lookup_key(key)
        async with connection(self.database.statement_engine) as conn:
            doc = (await conn.execute(self._select_one, {self._key_param: key_value})).scalar()
        if doc is None:
            raise self._not_found(key)
        return _with_key(doc, self.key_field, key_value)

    async def replace(self, key: Any, doc: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the whole document (PUT). Its key member is set to ``key``; a different key
        in ``doc`` is ``InvalidQuery`` (a null one counts as absent)."""
        key_value = self._lookup_key(key)
        body = self._document(doc)
        self._check_same_key(key_value, body.get(self.key_field))
        body = _with_key(body, self.key_field, key_value)
        params = {"doc": body, "updated_at": self._now(), self._key_param: key_value}
        async with self._writing(self.database.statement_engine) as conn:
            found = (await conn.execute(self._replace, params)).first()
        if found is None:
            raise self._not_found(key)
        return body

    async def patch(self, key: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a JSON Merge Patch (PATCH) and bump ``updated_at``; the key member can be
        neither changed nor removed."""
        key_value = self._lookup_key(key)
        if not isinstance(changes, Mapping):
            raise InvalidQuery(f"{self.table.name}: a merge patch must be a JSON object")
        patch = self._document(changes)
        if self.key_field in patch:
            if patch[self.key_field] is None:
                raise InvalidQuery(
                    f"{self.table.name}: the key {self.key_field!r} cannot be removed",
                    details=[{"field": self.key_field, "message": "cannot be removed"}],
                )
            self._check_same_key(key_value, patch[self.key_field])
        # The first statement is a write, so the row is locked before it is read: on
        # PostgreSQL a concurrent patch waits, and on SQLite the write lock is taken up front
        # (upgrading a read transaction to a write one fails at once under contention).
        params = {"updated_at": self._now(), self._key_param: key_value}
        async with self._writing(self.database.engine) as conn:
            current = (await conn.execute(self._lock, params)).scalar()
            if current is None:
                raise self._not_found(key)
            merged = _with_key(merge_patch(current, patch), self.key_field, key_value)
            if merged != current:
                await conn.execute(self._update, {"doc": merged, self._key_param: key_value})
        return merged

    async def delete(self, key: Any) -> dict[str, Any]:
        """Delete the document under ``key`` and return it; ``NotFound`` if there is none."""
        key_value = self._lookup_key(key)
        async with self._writing(self.database.statement_engine) as conn:
            doc = (await conn.execute(self._delete, {self._key_param: key_value})).scalar()
        if doc is None:
            raise self._not_found(key)
        return _with_key(doc, self.key_field, key_value)

    async def list(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        limit: int = 50,
        offset: int = 0,
        cursor: str | None = None,
    ) -> Page:
        """Documents ordered by key: those whose top-level members equal ``filters`` (``None``
        values ignored; a string matches only a string, a number any equal number, a boolean
        only a boolean), at most ``limit``, after the document ``cursor`` (a previous
        ``next_cursor``) points at, skipping ``offset`` more."""
        for name, value in (("limit", limit), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidQuery(
                    f"{self.table.name}: {name} must be an integer",
                    details=[{"field": name, "message": "must be an integer"}],
                )
        if not 1 <= limit <= self.max_limit:
            raise InvalidQuery(
                f"{self.table.name}: limit must be within 1..{self.max_limit}",
                details=[{"field": "limit", "message": f"must be within 1..{self.max_limit}"}],
            )
        if offset < 0:
            raise InvalidQuery(
                f"{self.table.name}: offset cannot be negative",
                details=[{"field": "offset", "message": "cannot be negative"}],
            )
        stmt = sa.select(self._key, self._doc).where(*self._conditions(filters))
        if cursor is not None:
            stmt = stmt.where(self._key > decode_cursor(cursor, self.table.name, self._coerce_key))
        stmt = stmt.order_by(self._key).offset(offset or None).limit(limit + 1)
        async with connection(self.database.statement_engine) as conn:
            rows = (await conn.execute(stmt)).all()
        items = [_with_key(doc, self.key_field, key) for key, doc in rows[:limit]]
        next_cursor = encode_cursor(rows[limit - 1][0]) if len(rows) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    async def count(self, *, filters: Mapping[str, Any] | None = None) -> int:
        """How many documents match ``filters`` (as ``list`` applies them)."""
        stmt = sa.select(sa.func.count()).select_from(self.table)
        stmt = stmt.where(*self._conditions(filters))
        async with connection(self.database.statement_engine) as conn:
            return int((await conn.execute(stmt)).scalar_one())

    # --- helpers --------------------------------------------------------------------------

    @asynccontextmanager
    async def _writing(self, engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
        """``connection(engine, begin=True)``, integrity and data errors as store errors."""
        try:
            async with connection(engine, begin=True) as conn:
                yield conn
        except IntegrityError as exc:
            raise _integrity_error(self.table.name, exc) from None
        except DataError as exc:
            raise InvalidQuery(f"{self.table.name}: {_first_line(exc.orig)}") from None

    def _now(self) -> datetime:
        return _to_utc(self.clock())

    def _document(self, doc: Any) -> dict[str, Any]:
        """A JSON-compatible copy of ``doc`` (store.py's conversions); ``InvalidQuery`` when it
        is not an object or holds what JSON or PostgreSQL cannot (NaN, infinities, lone
        surrogates, NUL characters: one would make every JSON operator fail on its row)."""
        if not isinstance(doc, Mapping):
            raise InvalidQuery(f"{self.table.name}: a document must be a JSON object")
        body: dict[str, Any] = _jsonable(doc)
        try:
            json.dumps(body, allow_nan=False, ensure_ascii=False).encode("utf-8")
        except ValueError as exc:
            raise InvalidQuery(f"{self.table.name}: not a JSON document: {exc}") from None
        if _holds_nul(body):
            raise InvalidQuery(f"{self.table.name}: a document cannot contain NUL characters")
        return body

    def _provided_key(self, value: Any) -> Any:
        if value is None:
            raise InvalidQuery(
                f"{self.table.name}: the key {self.key_field!r} is required",
                details=[{"field": self.key_field, "message": "required"}],
            )
        try:
            key = self._coerce_key(value)
        except _Invalid as exc:
            raise InvalidQuery(
                f"{self.table.name}.{self.key_field}: {exc}",
                details=[{"field": self.key_field, "message": str(exc)}],
            ) from None
        if key == "":
            raise InvalidQuery(
                f"{self.table.name}: the key {self.key_field!r} cannot be empty",
                details=[{"field": self.key_field, "message": "cannot be empty"}],
            )
        return key

    def _check_same_key(self, key_value: Any, given: Any) -> None:
        if given is None:
            return
        try:
            same = self._coerce_key(given) == key_value
        except _Invalid:
            same = False
        if not same:
            raise InvalidQuery(
                f"{self.table.name}: the key {self.key_field!r} cannot be changed",
                details=[{"field": self.key_field, "message": "cannot be changed"}],
            )

    def _lookup_key(self, key: Any) -> Any:
        if isinstance(key, uuid.UUID) or (self.key_type == "string" and _is_int(key)):
            key = str(key)
        try:
            if key is None:
                raise _Invalid("no key")
            value = self._coerce_key(key)
        except _Invalid:
            raise self._not_found(key) from None
        if isinstance(value, str) and ("\x00" in value or not _encodes(value)):
            raise self._not_found(key)  # no stored key has them, and PostgreSQL refuses them
        return value

    def _not_found(self, key: Any) -> NotFound:
        return NotFound(f"{self.table.name}: no document with {self.key_field} = {key}")

    def _conditions(self, filters: Mapping[str, Any] | None) -> Sequence[sa.ColumnElement[bool]]:
        conditions: list[sa.ColumnElement[bool]] = []
        for name, value in (filters or {}).items():
            if value is None:
                continue
            if not isinstance(name, str) or "\x00" in name or not _encodes(name):
                raise InvalidQuery(f"{self.table.name}: invalid filter name {name!r}")
            kind, bound = self._filter_value(name, value)
            conditions.append(self._member_equals(name, kind, bound))
        return conditions

    def _filter_value(self, name: str, value: Any) -> tuple[str, Any]:
        """``(json kind, value to bind)`` for one filter; kind is string, number or boolean."""
        if isinstance(value, Decimal) and value.is_finite():
            value = float(value) if value != value.to_integral_value() else int(value)
        value = _jsonable(value)
        problem = "can only be a string, number or boolean"
        if isinstance(value, bool):
            return "boolean", value
        if isinstance(value, str):
            if "\x00" not in value and _encodes(value):
                return "string", value
            problem = "cannot hold NUL characters or lone surrogates"
        elif isinstance(value, int):
            if -_INT64 <= value < _INT64:
                return "number", value
            problem = "is out of the 64-bit integer range"
        elif isinstance(value, float):
            if math.isfinite(value):
                return "number", value
            problem = "must be a finite number"
        raise InvalidQuery(
            f"{self.table.name}: filter {name!r} {problem}",
            details=[{"field": name, "message": problem}],
        )

    def _member_equals(self, name: str, kind: str, value: Any) -> sa.ColumnElement[bool]:
        """SQL for "the top-level member ``name`` is a JSON ``kind`` equal to ``value``"."""
        if self.database.dialect == "sqlite":
            # json_each decodes member names, so any name (quotes, escaped unicode) matches
            members = sa.func.json_each(self._doc).table_valued("key", "type", "atom")
            if kind == "boolean":
                typed = members.c.type == ("true" if value else "false")
            else:
                typed = sa.and_(members.c.type.in_(_SQLITE_TYPES[kind]), members.c.atom == value)
            return sa.exists().where(members.c.key == name, typed)
        member = self._doc[name]
        json_type = sa.func.json_typeof(member)
        if kind == "boolean":
            return sa.and_(json_type == "boolean", member.as_string() == str(value).lower())
        if kind == "string":
            return sa.and_(json_type == "string", member.as_string() == value)
        # NUMERIC compares integers exactly and 5 = 5.0; the CASE keeps the cast off
        # members that are not numbers (PostgreSQL evaluates CASE branches lazily)
        number = sa.case((json_type == "number", sa.cast(member.as_string(), sa.Numeric)))
        exact = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
        return number == sa.literal(exact, sa.Numeric(asdecimal=True))


def _with_key(doc: Mapping[str, Any], key_field: str, key: Any) -> dict[str, Any]:
    """``doc`` with ``key_field`` set to ``key``, in place when present, first otherwise."""
    if key_field in doc:
        return {**doc, key_field: key}
    return {key_field: key, **doc}


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any("\x00" in name or _holds_nul(v) for name, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(v) for v in value)
    return False


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
