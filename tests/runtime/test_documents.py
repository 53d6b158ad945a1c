"""DocumentStore: JSON documents under a key, merge patch, filters and paging on SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from test_store import FakeClock, postgres_database

from autocoder.runtime.documents import DocumentStore, document_table, merge_patch
from autocoder.runtime.store import Conflict, Database, InvalidQuery, NotFound

pytestmark = pytest.mark.anyio

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


@dataclass
class Env:
    database: Database
    clock: FakeClock
    pets: DocumentStore  # string keys the client provides, under "petId"
    notes: DocumentStore  # uuid keys
    orders: DocumentStore  # integer keys the database assigns
    codes: DocumentStore  # integer keys the client provides, under "code"


@pytest.fixture(params=["sqlite", "postgresql"])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'data' / 'documents.db'}")
    else:
        database = await postgres_database()
    metadata = sa.MetaData()
    suffix = uuid.uuid4().hex[:12]
    pets = document_table(metadata, f"pets_{suffix}", key_type="string")
    notes = document_table(metadata, f"notes_{suffix}", key_type="string")
    orders = document_table(metadata, f"orders_{suffix}", key_type="integer")
    codes = document_table(metadata, f"codes_{suffix}", key_type="integer")
    await database.create_all(metadata)
    clock = FakeClock()
    try:
        yield Env(
            database=database,
            clock=clock,
            pets=DocumentStore(
                database, pets, key_field="petId", key_strategy="provided", clock=clock
            ),
            notes=DocumentStore(database, notes, key_field="id", key_strategy="uuid", clock=clock),
            orders=DocumentStore(
                database, orders, key_field="id", key_strategy="autoincrement", clock=clock
            ),
            codes=DocumentStore(
                database, codes, key_field="code", key_strategy="provided", clock=clock
            ),
        )
    finally:
        async with database.engine.begin() as conn:
            await conn.run_sync(metadata.drop_all)
        await database.dispose()


async def stamps(store: DocumentStore, key: Any) -> tuple[datetime, datetime]:
    """``(created_at, updated_at)`` of a row, as aware UTC datetimes."""
    table = store.table
    query = sa.select(table.c.created_at, table.c.updated_at).where(table.c["key"] == key)
    async with store.database.engine.connect() as conn:
        created, updated = (await conn.execute(query)).one()
    return utc(created), utc(updated)


def utc(value: datetime) -> datetime:
    """SQLite gives naive UTC values back, PostgreSQL aware ones in the session's zone."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def as_json(doc: Any) -> str:
    """The exact JSON text: member order, 5 vs 5.0 and -0.0 all show."""
    return json.dumps(doc, ensure_ascii=False)


def pet(n: int, **extra: Any) -> dict[str, Any]:
    return {"petId": f"p{n:03d}", "name": f"Pet {n}", **extra}


# --- the table ----------------------------------------------------------------------------


def test_document_table_declares_key_doc_and_timestamps() -> None:
    metadata = sa.MetaData()
    strings = document_table(metadata, "s", key_type="string")
    integers = document_table(metadata, "i", key_type="integer")
    assert [c.name for c in strings.columns] == ["key", "doc", "created_at", "updated_at"]
    assert [c.name for c in strings.primary_key] == ["key"]
    assert isinstance(strings.c["key"].type, sa.String) and strings.c["key"].type.length == 255
    for table in (strings, integers):
        assert isinstance(table.c.doc.type, sa.JSON)
        for name in ("doc", "created_at", "updated_at"):
            assert table.c[name].nullable is False
        for name in ("created_at", "updated_at"):
            kind = table.c[name].type
            assert isinstance(kind, sa.DateTime) and kind.timezone is True
    assert isinstance(integers.c["key"].type, sa.BigInteger)
    assert integers.c["key"].autoincrement is True
    sqlite_ddl = str(sa.schema.CreateTable(integers).compile(dialect=sqlite.dialect()))
    assert '"key" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT' in sqlite_ddl
    postgres_ddl = str(sa.schema.CreateTable(integers).compile(dialect=postgresql.dialect()))
    assert "key BIGSERIAL NOT NULL" in postgres_ddl
    with pytest.raises(ValueError, match="unknown key type"):
        document_table(metadata, "x", key_type="uuid")  # type: ignore[arg-type]


def test_store_configuration_is_checked() -> None:
    database = Database("sqlite://")
    metadata = sa.MetaData()
    strings = document_table(metadata, "s", key_type="string")
    integers = document_table(metadata, "i", key_type="integer")
    plain = sa.Table("plain", metadata, sa.Column("key", sa.String, primary_key=True))
    with pytest.raises(ValueError, match="needs integer keys"):
        DocumentStore(database, strings, key_field="id", key_strategy="autoincrement")
    with pytest.raises(ValueError, match="needs string keys"):
        DocumentStore(database, integers, key_field="id", key_strategy="uuid")
    with pytest.raises(ValueError, match="unknown key strategy"):
        DocumentStore(database, strings, key_field="id", key_strategy="random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="missing doc, created_at, updated_at"):
        DocumentStore(database, plain, key_field="id", key_strategy="provided")
    with pytest.raises(ValueError, match="key_field"):
        DocumentStore(database, strings, key_field="", key_strategy="provided")


# --- create / get -------------------------------------------------------------------------


async def test_create_with_a_provided_key_stores_the_document_and_its_timestamps(
    env: Env,
) -> None:
    created = await env.pets.create({"name": "Rex", "petId": "rex", "tags": ["a"]})
    assert created == {"name": "Rex", "petId": "rex", "tags": ["a"]}
    assert await env.pets.get("rex") == created
    assert await stamps(env.pets, "rex") == (T0, T0)


async def test_documents_round_trip_exactly(env: Env) -> None:
    doc = {
        "petId": "ünï-😀",
        "name": "Zoë «the» 猫",
        "weight": 0.1 + 0.2,
        "whole": 5.0,
        "negative_zero": -0.0,
        "tiny": 5e-324,
        "huge": 1.7976931348623157e308,
        "count": 2**53 + 1,
        "big": -(2**63),
        "alive": True,
        "vaccinated": False,
        "owner": None,
        "nested": {"deeper": {"list": [1, "two", None, {"three": [3.5]}], "empty": {}}},
        "empty_list": [],
        "ключ": "значение",
        'quote"and\\slash': "line\nbreak\ttab",
        "created_at": "client-owned",
    }
    created = await env.pets.create(doc)
    assert as_json(created) == as_json(doc)
    fetched = await env.pets.get("ünï-😀")
    assert as_json(fetched) == as_json(doc)
    assert fetched["created_at"] == "client-owned"  # a member, independent of the column
    assert as_json((await env.pets.list()).items) == as_json([doc])


async def test_timestamps_are_columns_not_document_members(env: Env) -> None:
    created = await env.notes.create({"text": "hi"})
    assert set(created) == {"id", "text"}
    assert set(await env.notes.get(created["id"])) == {"id", "text"}
    env.clock.advance(60)
    replaced = await env.notes.replace(created["id"], {"text": "there"})
    patched = await env.notes.patch(created["id"], {"more": 1})
    assert set(replaced) == {"id", "text"} and set(patched) == {"id", "text", "more"}


async def test_a_provided_key_is_required_and_must_fit_the_key_type(env: Env) -> None:
    for doc in ({"name": "x"}, {"petId": None, "name": "x"}):
        with pytest.raises(InvalidQuery, match="key 'petId' is required") as caught:
            await env.pets.create(doc)
        assert caught.value.details == [{"field": "petId", "message": "required"}]
    for bad in (7, "", "x" * 256, ["p"]):
        with pytest.raises(InvalidQuery) as caught:
            await env.pets.create({"petId": bad})
        assert caught.value.details[0]["field"] == "petId"
    for bad_code in ("seven", True, 1.5, 2**63):
        with pytest.raises(InvalidQuery, match="code"):
            await env.codes.create({"code": bad_code})
    assert await env.pets.count() == 0 and await env.codes.count() == 0


async def test_integer_keys_from_urls_are_strings(env: Env) -> None:
    seven = await env.codes.create({"code": 7, "label": "seven"})
    eight = await env.codes.create({"code": "8", "label": "eight"})
    assert seven == {"code": 7, "label": "seven"}
    assert eight == {"code": 8, "label": "eight"}  # the key member takes the key's type
    assert await env.codes.get("7") == await env.codes.get(7) == seven
    assert await env.codes.get("8") == eight
    for key in ("abc", "7.5", "", "99999999999999999999", None, "1e3"):
        with pytest.raises(NotFound):
            await env.codes.get(key)


async def test_string_keys_no_document_can_have_are_not_found(env: Env) -> None:
    await env.pets.create(pet(1))
    for key in ("p001\x00", "\ud800", "", "x" * 256, None, ["p001"]):
        for attempt in (
            env.pets.get(key),
            env.pets.replace(key, {}),
            env.pets.patch(key, {}),
            env.pets.delete(key),
        ):
            with pytest.raises(NotFound):
                await attempt
    assert await env.pets.get("p001") == pet(1)


async def test_uuid_keys_are_generated_and_replace_a_client_value(env: Env) -> None:
    sent = {"text": "a", "id": "mine", "more": [1]}
    created = await env.notes.create(sent)
    assert list(created) == ["text", "id", "more"]  # the member keeps its place
    assert created["id"] != "mine" and uuid.UUID(created["id"]).version == 4
    assert sent["id"] == "mine"  # the caller's mapping is not modified
    without = await env.notes.create({"text": "b"})
    assert list(without) == ["id", "text"]
    assert await env.notes.get(created["id"]) == created
    assert await env.notes.get(uuid.UUID(without["id"])) == without


async def test_autoincrement_keys_come_from_the_database_and_are_never_reused(env: Env) -> None:
    first = await env.orders.create({"item": "a", "id": 999})
    second = await env.orders.create({"item": "b"})
    assert isinstance(first["id"], int) and first["id"] != 999
    assert second["id"] > first["id"]
    assert await env.orders.get(str(second["id"])) == second == {"id": second["id"], "item": "b"}
    await env.orders.delete(second["id"])
    third = await env.orders.create({"item": "c"})
    assert third["id"] > second["id"]  # a deleted resource's URL never names a new one


async def test_a_duplicate_key_conflicts_and_the_store_stays_usable(env: Env) -> None:
    await env.pets.create(pet(1))
    with pytest.raises(Conflict) as caught:
        await env.pets.create(pet(1, name="Other"))
    assert caught.value.status == 409 and caught.value.code == "conflict"
    await env.pets.create(pet(2))
    assert (await env.pets.get("p001"))["name"] == "Pet 1"
    await env.codes.create({"code": 1})
    with pytest.raises(Conflict):
        await env.codes.create({"code": "1"})
    assert await env.pets.count() == 2


async def test_concurrent_creates_of_one_key_store_exactly_one(env: Env) -> None:
    outcomes: list[str] = []

    async def attempt(n: int) -> None:
        try:
            await env.pets.create({"petId": "same", "attempt": n})
        except Conflict:
            outcomes.append("conflict")
        else:
            outcomes.append(f"created {n}")

    async with anyio.create_task_group() as group:
        for n in range(8):
            group.start_soon(attempt, n)
    winners = [o for o in outcomes if o.startswith("created")]
    assert len(winners) == 1 and outcomes.count("conflict") == 7
    stored = await env.pets.get("same")
    assert winners == [f"created {stored['attempt']}"]
    assert await env.pets.count() == 1


@pytest.mark.parametrize(
    "doc",
    [
        ["not", "an", "object"],
        "text",
        None,
        {"petId": "x", "weight": float("nan")},
        {"petId": "x", "nested": {"weight": float("inf")}},
        {"petId": "x", "name": "lone \ud800 surrogate"},
        {"petId": "x", "name": "nul \x00 character"},
        {"petId": "x", "nested": [{"nul \x00 name": 1}]},
    ],
)
async def test_documents_that_are_not_json_objects_are_invalid(env: Env, doc: Any) -> None:
    with pytest.raises(InvalidQuery):
        await env.pets.create(doc)
    await env.pets.create({"petId": "x"})
    with pytest.raises(InvalidQuery):
        await env.pets.replace("x", doc)
    assert await env.pets.get("x") == {"petId": "x"}


# --- replace ------------------------------------------------------------------------------


async def test_replace_swaps_the_whole_document_and_bumps_updated_at(env: Env) -> None:
    await env.pets.create(pet(1, tags=["a"], owner={"name": "Ann"}))
    env.clock.advance(60)
    replaced = await env.pets.replace("p001", {"name": "New", "age": 3})
    assert replaced == {"petId": "p001", "name": "New", "age": 3}
    assert await env.pets.get("p001") == replaced
    assert await stamps(env.pets, "p001") == (T0, T0 + timedelta(seconds=60))
    same_key = await env.pets.replace("p001", {"petId": "p001", "name": "Again"})
    null_key = await env.pets.replace("p001", {"name": "Null key", "petId": None})
    assert same_key == {"petId": "p001", "name": "Again"}
    assert null_key == {"name": "Null key", "petId": "p001"}


async def test_replace_refuses_a_different_key_and_missing_documents(env: Env) -> None:
    await env.pets.create(pet(1))
    with pytest.raises(InvalidQuery, match="cannot be changed") as caught:
        await env.pets.replace("p001", pet(2))
    assert caught.value.details == [{"field": "petId", "message": "cannot be changed"}]
    with pytest.raises(NotFound):
        await env.pets.replace("p404", {"name": "x"})
    assert await env.pets.get("p001") == pet(1)
    assert await env.pets.count() == 1


async def test_replace_on_integer_keys_takes_the_url_key(env: Env) -> None:
    order = await env.orders.create({"item": "a"})
    key = str(order["id"])
    assert await env.orders.replace(key, {"item": "b"}) == {"item": "b", "id": order["id"]}
    assert await env.orders.replace(key, {"id": order["id"], "item": "c"}) == {
        "id": order["id"],
        "item": "c",
    }
    with pytest.raises(InvalidQuery, match="cannot be changed"):
        await env.orders.replace(key, {"id": order["id"] + 1})
    with pytest.raises(InvalidQuery, match="cannot be changed"):
        await env.orders.replace(key, {"id": "abc"})
    for missing in ("abc", str(order["id"] + 100)):
        with pytest.raises(NotFound):
            await env.orders.replace(missing, {"item": "x"})


# --- patch --------------------------------------------------------------------------------


async def test_patch_merges_objects_deletes_nulls_and_replaces_the_rest(env: Env) -> None:
    await env.pets.create(
        pet(
            1,
            owner={"name": "Ann", "address": {"city": "Oslo", "zip": "0150"}, "phone": "1"},
            tags=["a", "b"],
            age=3,
        )
    )
    env.clock.advance(30)
    patched = await env.pets.patch(
        "p001",
        {
            "owner": {"address": {"zip": None, "street": "Main"}, "phone": None},
            "tags": ["c"],
            "age": None,
            "color": {"primary": "black", "spots": None},
            "absent": None,
        },
    )
    expected = {
        "petId": "p001",
        "name": "Pet 1",
        "owner": {"name": "Ann", "address": {"city": "Oslo", "street": "Main"}},
        "tags": ["c"],
        "color": {"primary": "black"},
    }
    assert patched == expected
    assert await env.pets.get("p001") == expected
    assert await stamps(env.pets, "p001") == (T0, T0 + timedelta(seconds=30))


async def test_patch_cannot_change_or_remove_the_key(env: Env) -> None:
    await env.pets.create(pet(1))
    env.clock.advance(30)
    with pytest.raises(InvalidQuery, match="cannot be changed") as caught:
        await env.pets.patch("p001", {"petId": "p002", "name": "x"})
    assert caught.value.details == [{"field": "petId", "message": "cannot be changed"}]
    with pytest.raises(InvalidQuery, match="cannot be removed"):
        await env.pets.patch("p001", {"petId": None})
    for bad in (["not", "an", "object"], {"weight": float("nan")}):
        with pytest.raises(InvalidQuery):
            await env.pets.patch("p001", bad)  # type: ignore[arg-type]
    assert await env.pets.get("p001") == pet(1)
    assert await stamps(env.pets, "p001") == (T0, T0)  # nothing was written
    assert await env.pets.patch("p001", {"petId": "p001", "age": 1}) == pet(1, age=1)
    order = await env.orders.create({"item": "a"})
    with pytest.raises(InvalidQuery, match="cannot be changed"):
        await env.orders.patch(str(order["id"]), {"id": order["id"] + 1})
    assert await env.orders.patch(str(order["id"]), {"id": str(order["id"])}) == order


async def test_patch_of_a_missing_document_is_not_found(env: Env) -> None:
    with pytest.raises(NotFound):
        await env.pets.patch("p404", {"name": "x"})
    with pytest.raises(NotFound):
        await env.codes.patch("abc", {"label": "x"})
    assert await env.pets.count() == 0


async def test_concurrent_patches_lose_no_update(env: Env) -> None:
    await env.pets.create(pet(1, counts={}))

    async def set_member(n: int) -> None:
        await env.pets.patch("p001", {"counts": {f"m{n}": n}})

    async with anyio.create_task_group() as group:
        for n in range(10):
            group.start_soon(set_member, n)
    assert (await env.pets.get("p001"))["counts"] == {f"m{n}": n for n in range(10)}


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # RFC 7386, appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
        ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
        ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], ["c", "d"], ["c", "d"]),
        ({"a": "b"}, ["c"], ["c"]),
        ({"a": "foo"}, None, None),
        ({"a": "foo"}, "bar", "bar"),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target: Any, patch: Any, result: Any) -> None:
    before = json.dumps(target)
    assert merge_patch(target, patch) == result
    assert json.dumps(target) == before


# --- delete -------------------------------------------------------------------------------


async def test_delete_returns_the_document_and_removes_it(env: Env) -> None:
    keep = await env.pets.create(pet(1))
    drop = await env.pets.create(pet(2, nested={"a": [1]}))
    assert await env.pets.delete("p002") == drop
    with pytest.raises(NotFound):
        await env.pets.get("p002")
    with pytest.raises(NotFound) as caught:
        await env.pets.delete("p002")
    assert caught.value.status == 404 and caught.value.code == "not_found"
    assert (await env.pets.list()).items == [keep]
    code = await env.codes.create({"code": 5})
    with pytest.raises(NotFound):
        await env.codes.delete("five")
    assert await env.codes.delete("5") == code


# --- list and count -----------------------------------------------------------------------


async def test_cursor_paging_visits_every_document_once_in_key_order(env: Env) -> None:
    created = {(await env.notes.create({"n": n}))["id"] for n in range(25)}
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        page = await env.notes.list(limit=10, cursor=cursor)
        pages.append([item["id"] for item in page.items])
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert [len(p) for p in pages] == [10, 10, 5]
    seen = [key for p in pages for key in p]
    assert seen == sorted(seen) and set(seen) == created and len(seen) == 25


async def test_offset_paging_visits_every_document_once(env: Env) -> None:
    for n in range(20):
        await env.pets.create(pet(19 - n))
    seen: list[str] = []
    for offset in range(0, 20, 7):
        page = await env.pets.list(limit=7, offset=offset)
        seen += [item["petId"] for item in page.items]
        assert (page.next_cursor is None) == (offset + 7 >= 20)
    assert seen == [f"p{n:03d}" for n in range(20)]
    assert (await env.pets.list(offset=20)).items == []
    cursor = (await env.pets.list(limit=5)).next_cursor
    after = await env.pets.list(limit=3, offset=2, cursor=cursor)
    assert [item["petId"] for item in after.items] == ["p007", "p008", "p009"]


async def test_the_last_full_page_has_no_next_cursor(env: Env) -> None:
    ids = [(await env.orders.create({"n": n}))["id"] for n in range(12)]
    first = await env.orders.list(limit=6)
    second = await env.orders.list(limit=6, cursor=first.next_cursor)
    assert [o["id"] for o in first.items + second.items] == ids  # numeric, not text, order
    assert second.next_cursor is None
    everything = await env.orders.list(limit=12)
    assert len(everything.items) == 12 and everything.next_cursor is None


async def test_filters_match_top_level_members_by_json_type(env: Env) -> None:
    docs = [
        pet(1, kind="cat", age=3, weight=4.5, indoor=True, owner={"name": "Ann"}),
        pet(2, kind="dog", age=3.0, weight=0.1 + 0.2, indoor=False, owner={"name": "Bob"}),
        pet(3, kind="cat", age="3", weight=4.5, indoor=1, owner=None),
        pet(4, kind="cat", age=2**62 + 1, weight=-0.5, indoor="true", owner="Ann"),
        pet(5, kind={"name": "cat"}, age=[3], indoor=None, **{"é": "ü", 'say "hi"': 1}),
    ]
    for doc in docs:
        await env.pets.create(doc)

    async def ids(**filters: Any) -> list[str]:
        page = await env.pets.list(filters=filters)
        assert await env.pets.count(filters=filters) == len(page.items)
        return [doc["petId"] for doc in page.items]

    assert await ids(kind="cat") == ["p001", "p003", "p004"]  # not the object of p005
    assert await ids(age=3) == ["p001", "p002"]  # 3.0 is 3; "3" and [3] are not
    assert await ids(age="3") == ["p003"]
    assert await ids(age=2**62 + 1) == ["p004"]  # compared exactly, not as a double
    assert await ids(age=2**62) == []
    assert await ids(weight=4.5) == ["p001", "p003"]
    assert await ids(weight=0.1 + 0.2) == ["p002"]
    assert await ids(weight=0.3) == []
    assert await ids(weight=-0.5, age=2**62 + 1) == ["p004"]
    assert await ids(indoor=True) == ["p001"]  # not 1, not "true"
    assert await ids(indoor=False) == ["p002"]
    assert await ids(kind="cat", age=3) == ["p001"]
    assert await ids(kind="cat", age=None, weight=None) == ["p001", "p003", "p004"]
    assert await ids(owner="Ann") == ["p004"]  # a nested object is not its text
    assert await ids(name="Pet 5", **{"é": "ü"}) == ["p005"]
    assert await ids(**{'say "hi"': 1}) == ["p005"]
    assert await ids(petId="p002") == ["p002"]
    assert await ids(missing="x") == []
    assert await ids(kind='{"name":"cat"}') == []
    assert await ids(kind='{"name": "cat"}') == []


async def test_filters_page_by_cursor_and_count(env: Env) -> None:
    for n in range(15):
        await env.orders.create({"parity": "even" if n % 2 == 0 else "odd", "n": n})
    seen: list[int] = []
    cursor: str | None = None
    while True:
        page = await env.orders.list(filters={"parity": "even"}, limit=3, cursor=cursor)
        seen += [order["n"] for order in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(range(0, 15, 2))
    assert await env.orders.count() == 15
    assert await env.orders.count(filters={"parity": "odd"}) == 7
    assert await env.orders.count(filters={"parity": "odd", "n": 3}) == 1
    assert await env.orders.count(filters={"parity": None}) == 15


async def test_list_rejects_bad_filters_limits_offsets_and_cursors(env: Env) -> None:
    await env.pets.create(pet(1))
    for value in ({"a": 1}, [1], float("nan"), float("inf"), 2**63, -(2**63) - 1):
        with pytest.raises(InvalidQuery, match="filter 'age'") as caught:
            await env.pets.list(filters={"age": value})
        assert caught.value.details[0]["field"] == "age"
        with pytest.raises(InvalidQuery):
            await env.pets.count(filters={"age": value})
    for value in ("nul \x00", "lone \ud800"):
        with pytest.raises(InvalidQuery, match="filter 'name'"):
            await env.pets.list(filters={"name": value})
    with pytest.raises(InvalidQuery, match="invalid filter name"):
        await env.pets.list(filters={"na\x00me": "x"})
    for limit in (0, -1, 1001, True, "5"):
        with pytest.raises(InvalidQuery, match="limit"):
            await env.pets.list(limit=limit)  # type: ignore[arg-type]
    for offset in (-1, 1.5):
        with pytest.raises(InvalidQuery, match="offset"):
            await env.pets.list(offset=offset)  # type: ignore[arg-type]
    assert len((await env.pets.list(limit=1000)).items) == 1
    json_cursor = base64.urlsafe_b64encode(json.dumps({"id": 1}).encode()).decode()
    for cursor in ("!!!", "bm90IGpzb24", json_cursor, "bnVsbA", "é", "NQ"):  # "NQ" is 5
        with pytest.raises(InvalidQuery, match="invalid cursor"):
            await env.pets.list(cursor=cursor)
    with pytest.raises(InvalidQuery, match="invalid cursor"):
        await env.orders.list(cursor=base64.urlsafe_b64encode(b'"abc"').decode())


# --- cancellation -------------------------------------------------------------------------


async def test_cancelled_writes_roll_back_and_give_their_connection_back(env: Env) -> None:
    """A timeout capability cancels calls mid-transaction (autoincrement creates and patches
    run two statements): each must roll back and return its connection to the pool."""
    await env.pets.create(pet(1, counter=0))
    cancelled = 0
    for n in range(60):
        with anyio.move_on_after(0.0005 * (n % 7)) as scope:
            await env.orders.create({"n": n})
            await env.pets.patch("p001", {"counter": n})
            await anyio.sleep(0)  # on SQLite the call is shielded: the timeout lands here
        cancelled += scope.cancelled_caught
    assert cancelled > 0
    with anyio.fail_after(5):  # a leaked pool would make this wait for its 30 s timeout
        order = await env.orders.create({"n": "last"})
        assert await env.orders.get(order["id"]) == order
        await env.pets.patch("p001", {"counter": "last"})
    # every stored order holds its key member: no half-done autoincrement create remains
    table = env.orders.table
    async with env.database.engine.connect() as conn:
        rows = (await conn.execute(sa.select(table.c["key"], table.c.doc))).all()
    assert rows and all(doc["id"] == key for key, doc in rows)
    assert (await env.pets.get("p001"))["counter"] == "last"
    assert getattr(env.database.engine.pool, "checkedout", lambda: 0)() == 0
