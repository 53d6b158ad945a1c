"""End to end through the runtime: requests and messages enter where the system takes them in,
flow through every binding, and the shutdown drains them all. Generated; do not edit."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app import tables
from app.runtime.store import database_urls

from .conftest import AUTH_HEADERS, Webhooks

ENTRY_COMPONENTS = []  # components bound directly to an entry point
STORE_SINKS = {}  # sink -> table it writes


def _rows(database_url: str, table: str) -> int:
    engine = sa.create_engine(database_urls(database_url)[0])
    with engine.connect() as connection:
        count = connection.execute(
            sa.select(sa.func.count()).select_from(tables.metadata.tables[table])
        ).scalar_one()
    engine.dispose()
    return int(count)


def test_end_to_end(app: FastAPI, webhooks: Webhooks, database_url: str) -> None:
    system = app.state.system
    with TestClient(app, headers=AUTH_HEADERS) as client:
        for table in reversed(tables.metadata.sorted_tables):
            client.portal.call(_clear, system, table)
        created = client.post(
            "/v1/todos",
            json={
                "assignee": "ada@example.com",
                "done": True,
                "due_on": "2026-01-15",
                "labels": ["aa"],
                "notes": "sample",
                "priority": "low",
                "title": "sample",
            },
        )
        assert created.status_code == 201, created.text
        key = created.json()["id"]
        item = "/v1/todos/{id}".replace("{id}", str(key))
        assert client.get(item).json() == created.json()
        assert client.delete(item).status_code == 204
        assert client.get(item).status_code == 404
        assert client.get("/readyz").status_code == 200
    # leaving the client stopped the service: every buffered message has been handled
    processed = system.supervisor.processed
    for component in ENTRY_COMPONENTS:
        assert processed.get(component, 0) >= 1, component
    assert [entry.error for entry in system.supervisor.dead_letter.entries] == []
    for sink, table in STORE_SINKS.items():
        if processed.get(sink):
            assert _rows(database_url, table) >= 1, table


async def _clear(system: object, table: sa.Table) -> None:
    async with system.database.engine.begin() as connection:  # type: ignore[attr-defined]
        await connection.execute(table.delete())
