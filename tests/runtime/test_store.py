"""Store: async CRUD, keyset pagination, filters and coercion on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import enum
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from tests_support import require_service

from autocoder.runtime import PermanentError, RetryPolicy, apply_capabilities
from autocoder.runtime.store import (
    Conflict,
    Database,
    InvalidQuery,
    NotFound,
    Store,
    StoreError,
    database_urls,
    store_sink,
)

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


class Status(enum.StrEnum):
    OPEN = "open"
    DONE = "done"


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Env:
    database: Database
    clock: FakeClock
    tasks: Store
    codes: Store
    events: Store


def make_tables(suffix: str) -> tuple[sa.MetaData, sa.Table, sa.Table, sa.Table]:
    metadata = sa.MetaData()
    tasks = sa.Table(
        f"tasks_{suffix}",
        metadata,
        sa.Column("id", sa.Uuid(as_uuid=True), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("slug", sa.String(40), nullable=False, unique=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("due", sa.Date, nullable=True),
        sa.Column("tags", sa.JSON, nullable=False),
        sa.Column("done", sa.Boolean, nullable=False),
    )
    codes = sa.Table(
        f"codes_{suffix}",
        metadata,
        sa.Column("code", sa.String(20), primary_key=True),
        sa.Column("label", sa.Text, nullable=False),
        sa.Column("weight", sa.Double, nullable=True),
        sa.Column("opens", sa.Time, nullable=True),
    )
    events = sa.Table(
        f"events_{suffix}",
        metadata,
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("name", sa.String(50), nullable=False),
        sa.Column("count", sa.Integer, nullable=True),
        sa.Column("happened_at", sa.DateTime(timezone=True), nullable=True),
    )
    return metadata, tasks, codes, events


async def postgres_database() -> Database:
    require_service("127.0.0.1", 5432, "PostgreSQL")
    errors: list[str] = []
    for user in ("postgres", "root"):
        database = Database(f"postgresql://{user}@127.0.0.1:5432/test")
        try:
            await database.ping()
        except OperationalError as exc:
            errors.append(f"{user}: {exc}")
            await database.dispose()
        else:
            return database
    pytest.fail("PostgreSQL is reachable but refuses both users: " + "; ".join(errors))


@pytest.fixture(params=["sqlite", "postgresql"])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'data' / 'store.db'}")
    else:
        database = await postgres_database()
    metadata, tasks, codes, events = make_tables(uuid.uuid4().hex[:12])
    await database.create_all(metadata)
    clock = FakeClock()
    try:
        yield Env(
            database=database,
            clock=clock,
            tasks=Store(
                database,
                tasks,
                key="id",
                key_strategy="uuid",
                filters=("status", "done", "due"),
                page_size=10,
                max_page_size=100,
                created_fields=("created_at",),
                updated_fields=("updated_at",),
                defaults={"status": "open", "tags": [], "done": False},
                clock=clock,
            ),
            codes=Store(database, codes, key="code", key_strategy="provided", page_size=10),
            events=Store(
                database, events, key="id", key_strategy="autoincrement", filters=("name",)
            ),
        )
    finally:
        async with database.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
        await database.dispose()


def task(n: int, **extra: Any) -> dict[str, Any]:
    return {"title": f"Task {n}", "slug": f"task-{n}", **extra}


# --- create / get -------------------------------------------------------------------------


async def test_create_generates_the_key_sets_timestamps_and_fills_defaults(env: Env) -> None:
    given = uuid.uuid4()
    row = await env.tasks.create(task(1, id=str(given), created_at="1999-01-01T00:00:00Z"))
    assert isinstance(row["id"], uuid.UUID) and row["id"] != given
    assert row["created_at"] == T0 and row["updated_at"] == T0
    assert row["created_at"].utcoffset() == timedelta(0)
    assert row == {
        "id": row["id"],
        "created_at": T0,
        "updated_at": T0,
        "title": "Task 1",
        "slug": "task-1",
        "status": "open",
        "due": None,
        "tags": [],
        "done": False,
    }
    assert await env.tasks.get(row["id"]) == row
    assert await env.tasks.get(str(row["id"])) == row
    async with env.database.engine.connect() as conn:
        count = sa.select(sa.func.count()).select_from(env.tasks.table)
        assert (await conn.execute(count)).scalar() == 1


async def test_defaults_are_copied_and_replace_nulls_of_required_fields(env: Env) -> None:
    default_tags: list[Any] = []
    store = Store(
        env.database,
        env.tasks.table,
        key="id",
        key_strategy="uuid",
        created_fields=("created_at", "updated_at"),
        defaults={"status": "open", "tags": default_tags, "done": False},
    )
    first = await store.create(task(1))
    first["tags"].append("mutated")
    second = await store.create(task(2, tags=None, due=None))
    assert second["tags"] == [] and default_tags == [] and second["due"] is None


async def test_values_are_coerced_from_json(env: Env) -> None:
    stamp = uuid.uuid4()
    row = await env.tasks.create(
        task(
            1,
            status=Status.DONE,
            due="2026-03-04",
            done="true",
            tags=["a", datetime(2026, 1, 1, 12, tzinfo=UTC), stamp, {"on": date(2026, 5, 6)}],
        )
    )
    assert row["status"] == "done" and type(row["status"]) is str
    assert row["due"] == date(2026, 3, 4)
    assert row["done"] is True
    assert row["tags"] == ["a", "2026-01-01T12:00:00+00:00", str(stamp), {"on": "2026-05-06"}]

    code = await env.codes.create({"code": "c1", "label": "x", "weight": 3, "opens": "08:30:00"})
    assert code["weight"] == 3.0 and isinstance(code["weight"], float)
    assert code["opens"] == time(8, 30)

    offset = await env.events.create({"name": "a", "happened_at": "2026-03-01T12:00:00+02:00"})
    naive = await env.events.create({"name": "b", "happened_at": "2026-03-01T12:00:00"})
    aware = await env.events.create({"name": "c", "happened_at": datetime(2026, 3, 1, 12)})
    assert offset["happened_at"] == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert naive["happened_at"] == aware["happened_at"] == datetime(2026, 3, 1, 12, tzinfo=UTC)
    for row in (offset, naive, aware):
        fetched = await env.events.get(row["id"])
        assert fetched["happened_at"] == row["happened_at"]
        assert fetched["happened_at"].utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("due", "2026-13-01"),
        ("due", "2026-03-04T00:00:00"),
        ("title", 42),
        ("slug", "x" * 41),
        ("done", "maybe"),
        ("title", None),
        ("due", 20260304),
    ],
)
async def test_uncoercible_values_are_invalid(env: Env, field: str, value: Any) -> None:
    with pytest.raises(InvalidQuery) as caught:
        await env.tasks.create(task(1, **{field: value}))
    assert [d["field"] for d in caught.value.details] == [field]
    assert (await env.tasks.list()).items == []


async def test_numbers_out_of_range_or_of_the_wrong_kind_are_invalid(env: Env) -> None:
    for count in (2**31, True, "1.5"):
        with pytest.raises(InvalidQuery, match="count"):
            await env.events.create({"name": "a", "count": count})
    with pytest.raises(InvalidQuery, match="weight"):
        await env.codes.create({"code": "c", "label": "x", "weight": "heavy"})
    assert (await env.events.create({"name": "a", "count": "7"}))["count"] == 7


async def test_unknown_and_missing_fields_are_invalid(env: Env) -> None:
    with pytest.raises(InvalidQuery, match=r"unknown field.*colour"):
        await env.tasks.create(task(1, colour="red"))
    with pytest.raises(InvalidQuery, match=r"missing required field.*slug") as caught:
        await env.tasks.create({"title": "no slug"})
    assert caught.value.details == [{"field": "slug", "message": "required"}]


async def test_a_provided_key_is_required(env: Env) -> None:
    with pytest.raises(InvalidQuery, match="key 'code' is required"):
        await env.codes.create({"label": "x"})
    with pytest.raises(InvalidQuery, match="key 'code' is required"):
        await env.codes.create({"code": None, "label": "x"})


async def test_duplicate_key_conflicts_and_the_store_stays_usable(env: Env) -> None:
    await env.codes.create({"code": "a", "label": "first"})
    with pytest.raises(Conflict) as caught:
        await env.codes.create({"code": "a", "label": "second"})
    assert caught.value.status == 409 and caught.value.code == "conflict"
    await env.codes.create({"code": "b", "label": "third"})
    assert (await env.codes.get("a"))["label"] == "first"
    assert [r["code"] for r in (await env.codes.list()).items] == ["a", "b"]


async def test_a_store_sink_create_is_idempotent_for_the_same_values(env: Env) -> None:
    write = store_sink(env.codes)
    await write({"code": "a", "label": "first", "weight": 1.5, "opens": "08:00:00"})
    # at-least-once delivery: the same message again (values as JSON) is already stored
    await write({"code": "a", "label": "first", "weight": 1.5, "opens": "08:00:00", "x": 1})
    assert [r["code"] for r in (await env.codes.list()).items] == ["a"]
    with pytest.raises(Conflict):  # a different record under that key
        await write({"code": "a", "label": "second", "weight": 1.5, "opens": "08:00:00"})
    assert (await env.codes.get("a"))["label"] == "first"


async def test_a_store_sink_update_writes_the_changes(env: Env) -> None:
    await env.codes.create({"code": "a", "label": "first"})
    await store_sink(env.codes, "update")({"code": "a", "label": "second"})
    assert (await env.codes.get("a"))["label"] == "second"
    with pytest.raises(NotFound):
        await store_sink(env.codes, "update")({"code": "zz", "label": "x"})


async def test_client_errors_of_the_store_are_not_retried(env: Env) -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    await env.codes.create({"code": "a", "label": "first"})
    write = apply_capabilities(store_sink(env.codes), retry=RetryPolicy(attempts=5, sleep=sleep))
    with pytest.raises(Conflict) as caught:
        await write({"code": "a", "label": "other"})
    assert isinstance(caught.value, PermanentError)
    with pytest.raises(InvalidQuery):
        await write({"code": "b"})  # label is required
    assert sleeps == []  # given up at once, no backoff


async def test_unique_column_conflicts(env: Env) -> None:
    await env.tasks.create(task(1))
    with pytest.raises(Conflict):
        await env.tasks.create(task(2, slug="task-1"))
    other = await env.tasks.create(task(2))
    with pytest.raises(Conflict):
        await env.tasks.update(other["id"], {"slug": "task-1"})
    assert (await env.tasks.get(other["id"]))["slug"] == "task-2"


async def test_autoincrement_keys_come_from_the_database(env: Env) -> None:
    first = await env.events.create({"name": "a", "id": 999})
    second = await env.events.create({"name": "b"})
    assert isinstance(first["id"], int) and second["id"] > first["id"]
    assert first["id"] != 999
    assert (await env.events.get(str(second["id"])))["name"] == "b"


# --- get / update / delete ----------------------------------------------------------------


async def test_missing_keys_are_not_found(env: Env) -> None:
    missing = uuid.uuid4()
    for attempt in (
        env.tasks.get(missing),
        env.tasks.get("not-a-uuid"),
        env.tasks.update(missing, {"title": "x"}),
        env.tasks.update(missing, {}),
        env.tasks.delete(missing),
        env.events.get(12345),
        env.codes.delete("nope"),
    ):
        with pytest.raises(NotFound) as caught:
            await attempt
        assert caught.value.status == 404 and caught.value.code == "not_found"


async def test_update_is_partial_and_bumps_updated_fields(env: Env) -> None:
    row = await env.tasks.create(task(1, due="2026-01-01", tags=["x"]))
    env.clock.advance(60)
    updated = await env.tasks.update(str(row["id"]), {"title": "Renamed", "due": None})
    assert updated == {
        **row,
        "title": "Renamed",
        "due": None,
        "updated_at": T0 + timedelta(seconds=60),
    }
    assert await env.tasks.get(row["id"]) == updated


async def test_update_with_no_changes_returns_the_row_unchanged(env: Env) -> None:
    row = await env.tasks.create(task(1))
    env.clock.advance(60)
    assert await env.tasks.update(row["id"], {}) == row
    assert await env.tasks.update(row["id"], {"id": str(row["id"])}) == row
    assert await env.tasks.update(row["id"], {"created_at": "2000-01-01T00:00:00Z"}) == row


async def test_update_rejects_key_changes_unknown_fields_and_nulls(env: Env) -> None:
    row = await env.tasks.create(task(1))
    with pytest.raises(InvalidQuery, match="cannot be changed"):
        await env.tasks.update(row["id"], {"id": uuid.uuid4()})
    with pytest.raises(InvalidQuery, match="unknown field"):
        await env.tasks.update(row["id"], {"colour": "red"})
    with pytest.raises(InvalidQuery, match="title cannot be null"):
        await env.tasks.update(row["id"], {"title": None})
    with pytest.raises(InvalidQuery, match="due"):
        await env.tasks.update(row["id"], {"due": "soon"})
    assert await env.tasks.get(row["id"]) == row


async def test_delete_removes_the_row(env: Env) -> None:
    keep = await env.codes.create({"code": "keep", "label": "k"})
    await env.codes.create({"code": "drop", "label": "d"})
    await env.codes.delete("drop")
    with pytest.raises(NotFound):
        await env.codes.get("drop")
    with pytest.raises(NotFound):
        await env.codes.delete("drop")
    assert (await env.codes.list()).items == [keep]


# --- list ---------------------------------------------------------------------------------


async def test_cursor_paging_visits_every_row_once_in_key_order(env: Env) -> None:
    created = {(await env.tasks.create(task(n)))["id"] for n in range(25)}
    pages: list[list[uuid.UUID]] = []
    cursor: str | None = None
    while True:
        page = await env.tasks.list(cursor=cursor)
        pages.append([item["id"] for item in page.items])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [len(p) for p in pages] == [10, 10, 5]
    seen = [key for p in pages for key in p]
    assert seen == sorted(seen) and set(seen) == created and len(seen) == 25


async def test_the_last_full_page_has_no_next_cursor(env: Env) -> None:
    for n in range(20):
        await env.codes.create({"code": f"c{n:02d}", "label": str(n)})
    first = await env.codes.list()
    assert first.next_cursor is not None
    second = await env.codes.list(cursor=first.next_cursor)
    assert [r["code"] for r in second.items] == [f"c{n:02d}" for n in range(10, 20)]
    assert second.next_cursor is None
    everything = await env.codes.list(limit=20)
    assert len(everything.items) == 20 and everything.next_cursor is None


async def test_autoincrement_keys_page_too(env: Env) -> None:
    ids = [(await env.events.create({"name": "e"}))["id"] for _ in range(5)]
    first = await env.events.list(limit=2)
    rest = await env.events.list(limit=3, cursor=first.next_cursor)
    assert [r["id"] for r in first.items + rest.items] == ids
    assert rest.next_cursor is None


async def test_filters_are_equalities_and_none_is_ignored(env: Env) -> None:
    for n in range(12):
        await env.tasks.create(
            task(n, status="done" if n % 3 == 0 else "open", done=n % 2 == 0, due="2026-02-02")
        )
    done = await env.tasks.list(filters={"status": "done", "done": None})
    assert sorted(r["title"] for r in done.items) == ["Task 0", "Task 3", "Task 6", "Task 9"]
    both = await env.tasks.list(filters={"status": Status.DONE, "done": "true"})
    assert sorted(r["title"] for r in both.items) == ["Task 0", "Task 6"]
    assert len((await env.tasks.list(filters={"due": "2026-02-02"})).items) == 10
    assert (await env.tasks.list(filters={"due": date(2026, 2, 3)})).items == []

    titles: list[str] = []
    cursor: str | None = None
    while True:
        page = await env.tasks.list(filters={"status": "open"}, limit=3, cursor=cursor)
        titles += [r["title"] for r in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert len(titles) == len(set(titles)) == 8


async def test_list_rejects_unknown_filters_bad_limits_and_bad_cursors(env: Env) -> None:
    await env.tasks.create(task(1))
    with pytest.raises(InvalidQuery, match="cannot filter on 'title'"):
        await env.tasks.list(filters={"title": "Task 1"})
    with pytest.raises(InvalidQuery, match="due"):
        await env.tasks.list(filters={"due": "tomorrow"})
    for limit in (0, 101, -1):
        with pytest.raises(InvalidQuery, match="limit"):
            await env.tasks.list(limit=limit)
    assert len((await env.tasks.list(limit=100)).items) == 1
    json_cursor = base64.urlsafe_b64encode(json.dumps({"id": 1}).encode()).decode()
    for cursor in ("!!!", "bm90IGpzb24", json_cursor, "bnVsbA", "é"):
        with pytest.raises(InvalidQuery, match="invalid cursor"):
            await env.tasks.list(cursor=cursor)
    with pytest.raises(InvalidQuery, match="invalid cursor"):
        await env.events.list(cursor=base64.urlsafe_b64encode(b'"abc"').decode())


# --- database and configuration -----------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("sqlite:///data/app.db", ("sqlite:///data/app.db", "sqlite+aiosqlite:///data/app.db")),
        ("sqlite:////abs/app.db", ("sqlite:////abs/app.db", "sqlite+aiosqlite:////abs/app.db")),
        ("sqlite://", ("sqlite://", "sqlite+aiosqlite://")),
        ("sqlite:///:memory:", ("sqlite:///:memory:", "sqlite+aiosqlite:///:memory:")),
        ("sqlite+aiosqlite:///x.db", ("sqlite:///x.db", "sqlite+aiosqlite:///x.db")),
        ("postgres://u:p@h:5432/db", ("postgresql+psycopg://u:p@h:5432/db",) * 2),
        ("postgresql://u@h/db", ("postgresql+psycopg://u@h/db",) * 2),
        ("postgresql+psycopg://u@h/db", ("postgresql+psycopg://u@h/db",) * 2),
        ("postgresql+asyncpg://u@h/db?ssl=1", ("postgresql+psycopg://u@h/db?ssl=1",) * 2),
    ],
)
def test_database_urls(url: str, expected: tuple[str, str]) -> None:
    assert database_urls(url) == expected


@pytest.mark.parametrize("url", ["mysql://u:secret@h/db", "postgresql+psycopg2://h/db", "app.db"])
def test_unsupported_database_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="expected sqlite") as caught:
        database_urls(url)
    assert "secret" not in str(caught.value)


def test_error_codes_and_statuses() -> None:
    assert (NotFound.status, NotFound.code) == (404, "not_found")
    assert (Conflict.status, Conflict.code) == (409, "conflict")
    assert (InvalidQuery.status, InvalidQuery.code) == (400, "invalid_query")
    error = InvalidQuery("bad", details=[{"field": "a", "message": "m"}])
    assert isinstance(error, StoreError) and error.message == "bad" and error.details[0]["field"]


async def test_sqlite_file_database_creates_its_directory_and_sets_pragmas(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nested" / "deeper" / "app.db"
    database = Database(f"sqlite:///{path}", pool_size=3)
    try:
        assert database.dialect == "sqlite" and path.parent.is_dir()
        assert database.async_url == f"sqlite+aiosqlite:///{path}"
        await database.ping()
        async with database.engine.connect() as conn:
            assert (await conn.execute(sa.text("PRAGMA foreign_keys"))).scalar() == 1
            assert (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar() == "wal"
    finally:
        await database.dispose()
    assert path.exists()


async def test_sqlite_in_memory_database_keeps_its_rows() -> None:
    database = Database("sqlite://")
    metadata, _, codes, _ = make_tables("mem")
    try:
        await database.create_all(metadata)
        store = Store(database, codes, key="code", key_strategy="provided")
        await store.create({"code": "a", "label": "x"})
        assert (await store.get("a"))["label"] == "x"
    finally:
        await database.dispose()


async def test_postgresql_database_pings_and_reports_its_dialect() -> None:
    database = await postgres_database()
    try:
        assert database.dialect == "postgresql"
        assert database.async_url.startswith("postgresql+psycopg://")
    finally:
        await database.dispose()


async def test_an_unreachable_database_fails_the_ping() -> None:
    database = Database("postgresql://postgres@127.0.0.1:1/test")
    try:
        with pytest.raises(OperationalError):
            await database.ping()
    finally:
        await database.dispose()


def test_store_configuration_is_checked() -> None:
    database = Database("sqlite://")
    _, tasks, _, _ = make_tables("cfg")
    with pytest.raises(ValueError, match="unknown key"):
        Store(database, tasks, key="nope", key_strategy="uuid")
    with pytest.raises(ValueError, match=r"unknown filter.*colour"):
        Store(database, tasks, key="id", key_strategy="uuid", filters=("colour",))
    with pytest.raises(ValueError, match="JSON"):
        Store(database, tasks, key="id", key_strategy="uuid", filters=("tags",))
    with pytest.raises(ValueError, match="page_size"):
        Store(database, tasks, key="id", key_strategy="uuid", page_size=600)


# --- cancellation -------------------------------------------------------------------------


async def test_cancelled_operations_give_their_connection_back(env: Env) -> None:
    """A timeout capability cancels store calls mid-transaction; each must roll back and
    return its connection, or the pool runs dry and every later call hangs."""
    cancelled = 0
    for n in range(60):  # far more than the pool holds (5 + 10 overflow by default)
        with anyio.move_on_after(0.0005 * (n % 7)) as scope:
            await env.tasks.create(task(1000 + n))
            await anyio.sleep(0)  # on SQLite the call is shielded: the timeout lands here
        cancelled += scope.cancelled_caught
    assert cancelled > 0
    with anyio.fail_after(5):  # a leaked pool would make this wait for its 30 s timeout
        row = await env.tasks.create(task(1))
        assert (await env.tasks.get(row["id"]))["title"] == "Task 1"
    pool = env.database.engine.pool
    checked_out = getattr(pool, "checkedout", lambda: 0)()
    assert checked_out == 0
