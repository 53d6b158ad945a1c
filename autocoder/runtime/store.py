"""The data layer of ``store`` components: async CRUD and keyset pagination over one table.

A generated service declares one ``sqlalchemy.Table`` per store on a shared ``MetaData`` and wraps
it in a ``Store``; nothing here knows about a particular entity. ``Database`` owns the async
engine (SQLite through aiosqlite, PostgreSQL through psycopg 3).

Values are coerced to the column types on the way in, because messages are JSON dicts: ISO
strings become ``datetime``/``date``/``time``, strings become ``uuid.UUID``, JSON columns get
JSON-compatible values. ``DateTime`` values are stored and returned as timezone-aware UTC on
every dialect. Failures are ``StoreError`` subclasses carrying an HTTP status and an error code.
"""

from __future__ import annotations

import base64
import binascii
import copy
import enum
import json
import math
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import anyio
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Row
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from .capabilities import PermanentError

__all__ = [
    "Conflict",
    "Database",
    "InvalidQuery",
    "NotFound",
    "Page",
    "Store",
    "StoreError",
    "database_urls",
]

KeyStrategy = Literal["uuid", "autoincrement", "provided"]
Coercer = Callable[[Any], Any]
Clock = Callable[[], datetime]

_KEY_PARAM = "store_key_"
_ABSENT = object()
_SQLITE_SCHEMES = frozenset({"sqlite", "sqlite+aiosqlite", "sqlite+pysqlite"})
_POSTGRES_SCHEMES = frozenset(
    {"postgres", "postgresql", "postgresql+psycopg", "postgresql+asyncpg"}
)
_INT_RANGES: tuple[tuple[type[sa.Integer], int], ...] = (
    (sa.SmallInteger, 16),
    (sa.BigInteger, 64),
    (sa.Integer, 32),
)


@asynccontextmanager
async def connection(engine: AsyncEngine, *, begin: bool = False) -> AsyncIterator[AsyncConnection]:
    """A pooled connection (in a transaction with ``begin``) that goes back to the pool even
    when the caller is cancelled (a timeout capability): acquiring and releasing are shielded,
    so a cancelled operation rolls back instead of leaking its connection.

    On SQLite the whole operation is shielded: its statements run in a worker thread that a
    cancellation cannot stop, and an abandoned transaction would keep the database's write
    lock. The operation finishes (in milliseconds) and the caller's timeout takes effect right
    after, so a timed-out write may have been committed: retries rely on idempotency keys."""
    with anyio.CancelScope(shield=engine.dialect.name == "sqlite"):
        with anyio.CancelScope(shield=True):
            conn = await engine.connect()
        try:
            if begin:
                async with conn.begin():
                    yield conn
            else:
                yield conn
        finally:
            with anyio.CancelScope(shield=True):
                await conn.close()


class StoreError(Exception):
    """A store failure with its HTTP status and snake-case error code."""

    code: str = "store_error"
    status: int = 500

    def __init__(self, message: str, *, details: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details: list[dict[str, Any]] = [dict(d) for d in details]


class NotFound(StoreError, PermanentError):
    """No row has the requested key."""

    code = "not_found"
    status = 404


class Conflict(StoreError, PermanentError):
    """A duplicate key or a violated unique (or other integrity) constraint."""

    code = "conflict"
    status = 409


class InvalidQuery(StoreError, PermanentError):
    """Bad input: unknown field or filter, uncoercible value, bad cursor or limit."""

    code = "invalid_query"
    status = 400


def database_urls(url: str) -> tuple[str, str]:
    """``(sync_url, async_url)`` for a SQLite or PostgreSQL URL.

    ``sqlite:///path`` gives ``('sqlite:///path', 'sqlite+aiosqlite:///path')``; every
    PostgreSQL spelling gives ``postgresql+psycopg://...`` for both.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("not a database URL: expected sqlite:///path or postgresql://host/db")
    scheme = scheme.lower()
    if scheme in _SQLITE_SCHEMES:
        return f"sqlite://{rest}", f"sqlite+aiosqlite://{rest}"
    if scheme in _POSTGRES_SCHEMES:
        pg = f"postgresql+psycopg://{rest}"
        return pg, pg
    raise ValueError(
        f"unsupported database URL scheme {scheme!r}: expected sqlite:///path, sqlite://"
        " (in memory) or postgresql://user@host/db"
    )


class Database:
    """An async engine for SQLite (aiosqlite) or PostgreSQL (psycopg).

    SQLite connections enforce foreign keys; a file database runs in WAL mode with
    ``synchronous=NORMAL`` and its parent directory is created if missing.
    ``statement_engine`` shares ``engine``'s pool for work done in one statement: on PostgreSQL
    it runs in autocommit mode, which saves the BEGIN and COMMIT round trips.
    """

    def __init__(self, url: str, *, pool_size: int | None = None) -> None:
        self.url = url
        self.sync_url, self.async_url = database_urls(url)
        parsed = sa.make_url(self.async_url)
        self.dialect: str = "postgresql" if parsed.get_backend_name() == "postgresql" else "sqlite"
        if self.dialect == "postgresql":
            options: dict[str, Any] = {} if pool_size is None else {"pool_size": pool_size}
            self.engine: AsyncEngine = create_async_engine(self.async_url, **options)
            self.statement_engine = self.engine.execution_options(isolation_level="AUTOCOMMIT")
            return
        path = parsed.database or ""
        in_memory = path in ("", ":memory:") or "mode=memory" in path
        if not in_memory and not path.startswith("file:"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_async_engine(self.async_url)
        event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas(wal=not in_memory))
        self.statement_engine = self.engine

    async def ping(self) -> None:
        """``SELECT 1``; raises when the database is unreachable (readiness check)."""
        async with connection(self.engine) as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def create_all(self, metadata: sa.MetaData) -> None:
        """Create every table of ``metadata`` that does not exist yet (tests and development)."""
        async with connection(self.engine, begin=True) as conn:
            await conn.run_sync(metadata.create_all)

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(*, wal: bool) -> Callable[[Any, Any], None]:
    statements = ["PRAGMA foreign_keys=ON"]
    if wal:
        statements += ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"]

    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            for statement in statements:
                cursor.execute(statement)
        finally:
            cursor.close()

    return on_connect


@dataclass(frozen=True)
class Page:
    """One page of ``Store.list``; ``next_cursor`` is ``None`` on the last page."""

    items: list[dict[str, Any]]
    next_cursor: str | None


class _Invalid(ValueError):
    """A value that cannot be coerced to its column type."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _to_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _jsonable(value: Any) -> Any:
    """A JSON-compatible copy: dates as ISO strings, UUIDs and other objects as ``str``."""
    if value is None or isinstance(value, str | bool | int | float):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return _jsonable(value.value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _coerce_string(length: int | None) -> Coercer:
    def coerce(value: Any) -> Any:
        if isinstance(value, enum.Enum):
            value = value.value
        if isinstance(value, uuid.UUID):
            value = str(value)
        if not isinstance(value, str):
            raise _Invalid(f"expected a string, got {type(value).__name__}")
        if length is not None and len(value) > length:
            raise _Invalid(f"longer than {length} characters")
        return str(value)

    return coerce


def _coerce_uuid(as_uuid: bool) -> Coercer:
    def coerce(value: Any) -> Any:
        if not isinstance(value, uuid.UUID):
            if not isinstance(value, str):
                raise _Invalid(f"expected a UUID, got {type(value).__name__}")
            try:
                value = uuid.UUID(value)
            except ValueError:
                raise _Invalid(f"not a UUID: {value!r}") from None
        return value if as_uuid else str(value)

    return coerce


def _coerce_datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise _Invalid(f"not an ISO 8601 date-time: {value!r}") from None
    if not isinstance(value, datetime):
        raise _Invalid(f"expected a date-time, got {type(value).__name__}")
    return _to_utc(value)


def _coerce_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _Invalid(f"not an ISO 8601 date: {value!r}") from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise _Invalid(f"expected a date, got {type(value).__name__}")
    return value


def _coerce_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise _Invalid(f"not an ISO 8601 time: {value!r}") from None
    if not isinstance(value, time):
        raise _Invalid(f"expected a time, got {type(value).__name__}")
    return value


def _coerce_integer(bits: int) -> Coercer:
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1

    def coerce(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif isinstance(value, str):
            try:
                value = int(value.strip())
            except ValueError:
                raise _Invalid(f"not an integer: {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(f"expected an integer, got {type(value).__name__}")
        if not low <= value <= high:
            raise _Invalid(f"out of range for a {bits}-bit integer")
        return int(value)

    return coerce


def _coerce_float(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _Invalid(f"expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except ValueError:
        raise _Invalid(f"not a number: {value!r}") from None
    if not math.isfinite(number):
        raise _Invalid("not a finite number")
    return number


def _coerce_decimal(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise _Invalid(f"expected a number, got {type(value).__name__}")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise _Invalid(f"not a number: {value!r}") from None
    if not number.is_finite():
        raise _Invalid("not a finite number")
    return number


_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def _coerce_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    raise _Invalid(f"expected a boolean, got {value!r}")


def _pass(value: Any) -> Any:
    return value


def _coercer(column: sa.Column[Any]) -> Coercer:
    """The input coercion for one column, chosen once from its type."""
    kind = column.type
    if isinstance(kind, sa.JSON):
        return _jsonable
    if isinstance(kind, sa.Uuid):
        return _coerce_uuid(bool(kind.as_uuid))
    if isinstance(kind, sa.Boolean):
        return _coerce_boolean
    if isinstance(kind, sa.DateTime):
        return _coerce_datetime
    if isinstance(kind, sa.Date):
        return _coerce_date
    if isinstance(kind, sa.Time):
        return _coerce_time
    if isinstance(kind, sa.Integer):
        bits = next(b for t, b in _INT_RANGES if isinstance(kind, t))
        return _coerce_integer(bits)
    if isinstance(kind, sa.Float):
        return _coerce_float
    if isinstance(kind, sa.Numeric):
        return _coerce_decimal
    if isinstance(kind, sa.String):
        return _coerce_string(kind.length)
    return _pass


def _output_fixup(column: sa.Column[Any]) -> Coercer | None:
    """How a value read back is normalised: DateTime to aware UTC (SQLite returns naive values),
    Float to ``float`` (SQLite's RETURNING gives ``int`` for integral REAL values)."""
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return _to_utc
    if isinstance(kind, sa.Float) and not kind.asdecimal:
        return float
    return None


def _integrity_error(table: str, exc: IntegrityError) -> StoreError:
    """Map a driver's integrity error: NOT NULL and CHECK are bad input, the rest conflicts."""
    orig = exc.orig
    name = str(getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", "") or "")
    text = str(orig).lower()
    if name in ("23502", "23514", "SQLITE_CONSTRAINT_NOTNULL", "SQLITE_CONSTRAINT_CHECK") or (
        "not null constraint" in text or "check constraint" in text
    ):
        return InvalidQuery(f"{table}: {_first_line(orig)}")
    if name in ("23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY") or (
        "unique constraint" in text or "duplicate key" in text
    ):
        return Conflict(f"{table}: a row with the same key or unique value already exists")
    return Conflict(f"{table}: {_first_line(orig)}")


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


class Store:
    """Create, read, update, delete and list the rows of one table, keyed by one column.

    ``key_strategy``: ``uuid`` generates the key (any key in the input is ignored),
    ``autoincrement`` lets the database assign it, ``provided`` requires it in the input.
    ``created_fields`` are set to the current UTC time on create, ``updated_fields`` on create
    and update; input values for them are ignored. ``defaults`` fill absent fields on create
    (and ``None`` given for a non-nullable field). ``clock`` gives the current UTC time.
    Rows are returned as dicts of column name to Python value.
    """

    def __init__(
        self,
        database: Database,
        table: sa.Table,
        *,
        key: str,
        key_strategy: KeyStrategy,
        filters: Sequence[str] = (),
        page_size: int = 50,
        max_page_size: int = 500,
        created_fields: Sequence[str] = (),
        updated_fields: Sequence[str] = (),
        defaults: Mapping[str, Any] | None = None,
        clock: Clock = _utc_now,
    ) -> None:
        columns = {c.name: c for c in table.columns}
        for role, names in (
            ("key", [key]),
            ("filter", filters),
            ("created field", created_fields),
            ("updated field", updated_fields),
            ("default", list(defaults or ())),
        ):
            unknown = [n for n in names if n not in columns]
            if unknown:
                raise ValueError(f"{table.name}: unknown {role} column(s) {', '.join(unknown)}")
        if key_strategy not in ("uuid", "autoincrement", "provided"):
            raise ValueError(f"{table.name}: unknown key strategy {key_strategy!r}")
        if not 1 <= page_size <= max_page_size:
            raise ValueError(f"{table.name}: page_size must be within 1..{max_page_size}")
        json_filters = [f for f in filters if isinstance(columns[f].type, sa.JSON)]
        if json_filters:
            raise ValueError(f"{table.name}: cannot filter on JSON column(s) {json_filters}")
        self.database = database
        self.table = table
        self.key = key
        self.key_strategy: KeyStrategy = key_strategy
        self.filters = tuple(filters)
        self.page_size = page_size
        self.max_page_size = max_page_size
        self.created_fields = tuple(created_fields)
        self.updated_fields = tuple(updated_fields)
        self.defaults = dict(defaults or {})
        self.clock = clock
        self._engine = database.statement_engine

        key_column = columns[key]
        self._names = tuple(columns)
        self._coercers = {name: _coercer(column) for name, column in columns.items()}
        self._key_column = key_column
        self._coerce_key = self._coercers[key]
        self._fixups = tuple(
            (n, fix) for n, c in columns.items() if (fix := _output_fixup(c)) is not None
        )
        self._server_set = frozenset(self.created_fields) | frozenset(self.updated_fields)
        self._not_nullable = frozenset(n for n, c in columns.items() if not c.nullable)
        self._required = frozenset(
            n
            for n, c in columns.items()
            if not c.nullable
            and c.default is None
            and c.server_default is None
            and n not in self._server_set
            and n not in self.defaults
            and not (n == key and key_strategy != "provided")
        )
        if key_strategy == "uuid":
            as_uuid = isinstance(key_column.type, sa.Uuid) and bool(key_column.type.as_uuid)
            self._new_key: Callable[[], Any] = uuid.uuid4 if as_uuid else _uuid_str
        key_param: sa.BindParameter[Any] = sa.bindparam(_KEY_PARAM)
        returning = tuple(table.columns)
        self._insert = table.insert().returning(*returning)
        self._select_one = sa.select(*returning).where(key_column == key_param)
        self._update = table.update().where(key_column == key_param).returning(*returning)
        self._delete = table.delete().where(key_column == key_param)
        self._select_page = sa.select(*returning).order_by(key_column)

    async def create(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Insert one row; returns it as stored."""
        self._reject_unknown(data)
        values: dict[str, Any] = {
            n: v for n, v in data.items() if n not in self._server_set and n != self.key
        }
        if self.key_strategy == "uuid":
            values[self.key] = self._new_key()
        elif self.key_strategy == "provided":
            if data.get(self.key) is None:
                raise InvalidQuery(
                    f"{self.table.name}: the key {self.key!r} is required",
                    details=[{"field": self.key, "message": "required"}],
                )
            values[self.key] = data[self.key]
        for name, default in self.defaults.items():
            if values.get(name, _ABSENT) is _ABSENT or (
                values[name] is None and name in self._not_nullable
            ):
                values[name] = copy.deepcopy(default)
        now = self.clock()
        for name in self._server_set:
            values[name] = now
        missing = sorted(n for n in self._required if n not in values)
        if missing:
            raise InvalidQuery(
                f"{self.table.name}: missing required field(s) {', '.join(missing)}",
                details=[{"field": n, "message": "required"} for n in missing],
            )
        self._reject_nulls(values)
        params = self._coerce(values)
        try:
            async with connection(self._engine, begin=True) as conn:
                row = (await conn.execute(self._insert, params)).one()
        except IntegrityError as exc:
            raise _integrity_error(self.table.name, exc) from None
        except DataError as exc:
            raise InvalidQuery(f"{self.table.name}: {_first_line(exc.orig)}") from None
        return self._row(row)

    async def holds(self, data: Mapping[str, Any]) -> bool:
        """Whether the row under ``data``'s key already has ``data``'s values, compared after
        the coercion a write applies (fields the server sets are ignored): a create that
        conflicts with it is a resubmission, not a different record."""
        try:
            current = await self.get(data.get(self.key))
        except NotFound:
            return False
        given = {n: v for n, v in data.items() if n in self._coercers and n not in self._server_set}
        wanted = self._coerce(given)
        return all(_jsonable(current.get(n)) == _jsonable(v) for n, v in wanted.items())

    async def get(self, key: Any) -> dict[str, Any]:
        """The row with ``key``; ``NotFound`` if there is none (or the key is malformed)."""
        key_value = self._lookup_key(key)
        async with connection(self._engine) as conn:
            row = (await conn.execute(self._select_one, {_KEY_PARAM: key_value})).first()
        if row is None:
            raise self._not_found(key)
        return self._row(row)

    async def update(self, key: Any, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change the fields present in ``changes`` (``None`` sets NULL); returns the new row."""
        key_value = self._lookup_key(key)
        self._reject_unknown(changes)
        values = {n: v for n, v in changes.items() if n not in self._server_set}
        if self.key in values:
            try:
                same = self._coerce_key(values.pop(self.key)) == key_value
            except _Invalid:
                same = False
            if not same:
                raise InvalidQuery(
                    f"{self.table.name}: the key {self.key!r} cannot be changed",
                    details=[{"field": self.key, "message": "cannot be changed"}],
                )
        if not values:
            return await self.get(key)
        self._reject_nulls(values)
        now = self.clock()
        for name in self.updated_fields:
            values[name] = now
        params = self._coerce(values)
        params[_KEY_PARAM] = key_value
        try:
            async with connection(self._engine, begin=True) as conn:
                row = (await conn.execute(self._update, params)).first()
        except IntegrityError as exc:
            raise _integrity_error(self.table.name, exc) from None
        except DataError as exc:
            raise InvalidQuery(f"{self.table.name}: {_first_line(exc.orig)}") from None
        if row is None:
            raise self._not_found(key)
        return self._row(row)

    async def delete(self, key: Any) -> None:
        """Delete the row with ``key``; ``NotFound`` if there is none."""
        key_value = self._lookup_key(key)
        try:
            async with connection(self._engine, begin=True) as conn:
                result = await conn.execute(self._delete, {_KEY_PARAM: key_value})
        except IntegrityError as exc:
            raise _integrity_error(self.table.name, exc) from None
        if result.rowcount == 0:
            raise self._not_found(key)

    async def list(
        self,
        *,
        filters: Mapping[str, Any] | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page:
        """One page ordered by key: equality ``filters`` (``None`` values ignored), at most
        ``limit`` rows, after the row that ``cursor`` (a previous ``next_cursor``) points at."""
        if limit is None:
            limit = self.page_size
        elif isinstance(limit, bool) or not isinstance(limit, int):
            raise InvalidQuery(f"{self.table.name}: limit must be an integer")
        if not 1 <= limit <= self.max_page_size:
            raise InvalidQuery(
                f"{self.table.name}: limit must be within 1..{self.max_page_size}",
                details=[{"field": "limit", "message": f"must be within 1..{self.max_page_size}"}],
            )
        stmt = self._select_page
        for name, value in (filters or {}).items():
            if name not in self.filters:
                allowed = ", ".join(self.filters) or "none"
                raise InvalidQuery(
                    f"{self.table.name}: cannot filter on {name!r} (filters: {allowed})",
                    details=[{"field": name, "message": "not a filter"}],
                )
            if value is not None:
                stmt = stmt.where(self.table.c[name] == self._coerce_one(name, value))
        if cursor is not None:
            stmt = stmt.where(
                self._key_column > decode_cursor(cursor, self.table.name, self._coerce_key)
            )
        async with connection(self._engine) as conn:
            rows = (await conn.execute(stmt.limit(limit + 1))).all()
        items = [self._row(row) for row in rows[:limit]]
        next_cursor = encode_cursor(items[-1][self.key]) if len(rows) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    def _reject_unknown(self, data: Mapping[str, Any]) -> None:
        unknown = sorted(str(n) for n in data if n not in self._coercers)
        if unknown:
            raise InvalidQuery(
                f"{self.table.name}: unknown field(s) {', '.join(unknown)}",
                details=[{"field": n, "message": "unknown field"} for n in unknown],
            )

    def _reject_nulls(self, values: Mapping[str, Any]) -> None:
        nulls = sorted(n for n, v in values.items() if v is None and n in self._not_nullable)
        if nulls:
            raise InvalidQuery(
                f"{self.table.name}: field(s) {', '.join(nulls)} cannot be null",
                details=[{"field": n, "message": "cannot be null"} for n in nulls],
            )

    def _coerce_one(self, name: str, value: Any) -> Any:
        try:
            return self._coercers[name](value)
        except _Invalid as exc:
            raise InvalidQuery(
                f"{self.table.name}.{name}: {exc}", details=[{"field": name, "message": str(exc)}]
            ) from None

    def _coerce(self, values: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        errors: list[dict[str, Any]] = []
        for name, value in values.items():
            if value is None:
                out[name] = None
                continue
            try:
                out[name] = self._coercers[name](value)
            except _Invalid as exc:
                errors.append({"field": name, "message": str(exc)})
        if errors:
            summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            raise InvalidQuery(f"{self.table.name}: {summary}", details=errors)
        return out

    def _lookup_key(self, key: Any) -> Any:
        try:
            if key is None:
                raise _Invalid("no key")
            return self._coerce_key(key)
        except _Invalid:
            raise self._not_found(key) from None

    def _not_found(self, key: Any) -> NotFound:
        return NotFound(f"{self.table.name}: no row with {self.key} = {key}")

    def _row(self, row: Row[Any]) -> dict[str, Any]:
        item = dict(zip(self._names, row, strict=True))
        for name, fix in self._fixups:
            value = item[name]
            if value is not None:
                item[name] = fix(value)
        return item


def encode_cursor(key: Any) -> str:
    """The opaque cursor of the page after ``key`` (url-safe base64 of its JSON)."""
    raw = json.dumps(_jsonable(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str, table: str, coerce_key: Callable[[Any], Any]) -> Any:
    """The key a cursor of ``encode_cursor`` holds; ``InvalidQuery`` for anything else."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if value is None:
            raise _Invalid("null key")
        return coerce_key(value)
    except (binascii.Error, UnicodeError, ValueError) as exc:
        raise InvalidQuery(
            f"{table}: invalid cursor",
            details=[{"field": "cursor", "message": "invalid cursor"}],
        ) from exc


def _uuid_str() -> str:
    return str(uuid.uuid4())


def store_sink(
    store: Store, operation: str = "create"
) -> Callable[[Mapping[str, Any]], Awaitable[None]]:
    """A sink handler writing each message to ``store`` (the fields its table has).

    Deliveries are at least once, so a create is idempotent: when the key already holds the
    same values (a retry after a write that timed out but committed, a resubmitted message),
    the write succeeds without a change. A different row under that key is a ``Conflict``;
    like every client error of the store it is permanent, so the retry capability does not
    repeat it and the message goes to the component's error port at once."""
    columns = set(store.table.c.keys())

    async def write(message: Mapping[str, Any]) -> None:
        row = {k: v for k, v in message.items() if k in columns}
        if operation == "update":
            await store.update(row.pop(store.key, None), row)
            return
        try:
            await store.create(row)
        except Conflict:
            if store.key_strategy != "provided" or not await store.holds(row):
                raise

    return write
